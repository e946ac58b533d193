import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import type { PublishedKeys } from "../../src/crypto/signer.ts";

// An independent check of a DSSE envelope: Sigstore's own verifier (@sigstore/verify, pinned in
// package.json), given the envelope in a Sigstore bundle (v0.3) whose verification material is a
// public-key hint, as the bundle format allows for a key that is not a Fulcio certificate. It computes
// PAE and checks the Ed25519 signature itself; none of Agent Gate's code runs here.

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The envelope as a Sigstore bundle naming its key by keyid. */
export function sigstoreBundle(envelope: {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}) {
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: {
      publicKey: { hint: envelope.signatures[0]?.keyid ?? "" },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: envelope,
  };
}

/** Throws unless Sigstore's verifier accepts the envelope under one of the published keys. */
export function sigstoreVerify(envelope: Parameters<typeof sigstoreBundle>[0], keys: PublishedKeys): void {
  const bundle = bundleFromJSON(sigstoreBundle(envelope));
  const trusted = Object.fromEntries(
    keys.keys.map((key) => [
      key.kid,
      // A protobuf PublicKey: the SPKI DER of the Ed25519 key.
      { rawBytes: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key.public_key, "base64url")]) },
    ]),
  );
  // No certificate authority, log or timestamp authority is trusted: only the keys.
  const root: Parameters<typeof toTrustMaterial>[0] = {
    mediaType: "",
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
  };
  const trust = toTrustMaterial(root, trusted as Parameters<typeof toTrustMaterial>[1]);
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 }).verify(toSignedEntity(bundle));
}
