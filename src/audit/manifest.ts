import nacl from "tweetnacl";
import { canonicalJson } from "../canonical-json.ts";
import { fromBase64url, toBase64url } from "../crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../crypto/signer.ts";
import type { ExportFilters, ExportFormat } from "./filters.ts";

/**
 * What the server vouches for about one export; documented in docs/audit.md.
 * `signature` is Ed25519 (base64url) over the canonical JSON of every other field.
 */
export interface Manifest {
  v: 1;
  installation_id: number;
  filters: ExportFilters & { through_seq: number };
  format: ExportFormat;
  /** true when no repo or action filter was given: the lines are consecutive links of the chain. */
  contiguous: boolean;
  count: number;
  first_seq: number | null;
  last_seq: number | null;
  first_prev_hash: string | null;
  first_hash: string | null;
  last_hash: string | null;
  body_sha256: string;
  /** seq of the audit tree's leaf 0 (null for a filtered export) */
  tree_first_seq?: number | null;
  /** the tree's compact range before the export's first event, hex (null for a filtered export) */
  tree_start_frontier?: string[] | null;
  generated_at: string;
  kid: string;
  signature: string;
}

export type UnsignedManifest = Omit<Manifest, "kid" | "signature">;

export function signManifest(unsigned: UnsignedManifest, signer: Signer): Manifest {
  const withKid = { ...unsigned, kid: signer.keyId };
  const message = new TextEncoder().encode(canonicalJson(withKid));
  const signature = toBase64url(nacl.sign.detached(message, signer.secretKey));
  return { ...withKid, signature };
}

/** null when the signature verifies against a published key, else why not. */
export function manifestSignatureFault(manifest: Manifest, keys: PublishedKeys): string | null {
  const key = keys.keys.find((candidate) => candidate.kid === manifest.kid);
  if (!key) return `manifest is signed with key "${manifest.kid}", which is not among the published keys`;
  if (key.alg !== "Ed25519") return `published key "${key.kid}" is not an Ed25519 key`;
  const publicKey = fromBase64url(key.public_key);
  const signature = typeof manifest.signature === "string" ? fromBase64url(manifest.signature) : null;
  if (!publicKey || publicKey.length !== nacl.sign.publicKeyLength) return `published key "${key.kid}" is malformed`;
  if (!signature || signature.length !== nacl.sign.signatureLength) return "manifest signature is malformed";
  const { signature: _omit, ...rest } = manifest;
  const message = new TextEncoder().encode(canonicalJson(rest));
  return nacl.sign.detached.verify(message, signature, publicKey) ? null : "manifest signature does not verify";
}
