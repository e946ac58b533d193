import nacl from "tweetnacl";
import type { Signer } from "./signer.ts";

/** A DSSE envelope as JSON (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md). */
export interface DsseEnvelope {
  payloadType: string;
  /** standard base64 of the payload bytes */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/**
 * DSSE's pre-authentication encoding: what is signed, never the payload alone,
 * so a signature cannot be moved to another payload type.
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal bytes.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "ascii"),
    type,
    Buffer.from(` ${payload.length} `, "ascii"),
    payload,
  ]);
}

/** Sign a payload into an envelope with the app's Ed25519 key; the keyid is the key's kid in keys.json. */
export function signEnvelope(payloadType: string, payload: Uint8Array, signer: Signer): DsseEnvelope {
  const sig = nacl.sign.detached(preAuthEncoding(payloadType, payload), signer.secretKey);
  return {
    payloadType,
    payload: Buffer.from(payload).toString("base64"),
    signatures: [{ keyid: signer.keyId, sig: Buffer.from(sig).toString("base64") }],
  };
}

/** Whether an Ed25519 signature (raw 64 bytes) over PAE(type, payload) verifies under a raw 32-byte public key. */
export function verifyEnvelopeSignature(
  payloadType: string,
  payload: Uint8Array,
  sig: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (sig.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
  return nacl.sign.detached.verify(preAuthEncoding(payloadType, payload), sig, publicKey);
}
