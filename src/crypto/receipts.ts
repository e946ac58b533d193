import nacl from "tweetnacl";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.ts";
import { GateError } from "../errors.ts";
import { fromBase64url, toBase64url } from "./base64url.ts";
import type { PublishedKeys, Signer } from "./signer.ts";

/** What a receipt says; signed as canonical JSON, kid included. */
export interface ReceiptPayload {
  v: 1;
  kid: string;
  proposal_id: string;
  installation_id: number;
  repo: string;
  kind: string;
  digest: string;
  decision: "approved" | "rejected";
  approvers: string[];
  decided_at: string;
  expires_at: string;
}

const payloadSchema = z.strictObject({
  v: z.literal(1),
  kid: z.string().min(1),
  proposal_id: z.string().min(1),
  installation_id: z.number().int(),
  repo: z.string().min(1),
  kind: z.string().min(1),
  digest: z.string().min(1),
  decision: z.enum(["approved", "rejected"]),
  approvers: z.array(z.string()),
  decided_at: z.iso.datetime({ offset: true }),
  expires_at: z.iso.datetime({ offset: true }),
});

const publishedKeysSchema = z.object({
  keys: z.array(
    z.object({
      kid: z.string().min(1),
      alg: z.literal("Ed25519"),
      public_key: z.string(),
      status: z.enum(["current", "retired"]),
      created_at: z.string(),
    }),
  ),
});

/** Sign a decision: `base64url(canonical JSON).base64url(Ed25519 signature over those bytes)`. */
export function signReceipt(payload: Omit<ReceiptPayload, "kid">, signer: Signer): string {
  const bytes = new TextEncoder().encode(canonicalJson({ ...payload, kid: signer.keyId }));
  const signature = nacl.sign.detached(bytes, signer.secretKey);
  return `${toBase64url(bytes)}.${toBase64url(signature)}`;
}

/** A receipt refused by `verifyReceipt`; `code` says why. */
export class ReceiptError extends GateError {
  constructor(code: string, message: string, status = 409) {
    super(code, message, { status });
  }
}

/**
 * Check a receipt offline against the published keys (current and retired) and
 * the digest of what is about to be executed. Returns the payload when the
 * receipt is an unexpired approval of exactly that digest.
 */
export function verifyReceipt(receipt: string, keys: PublishedKeys, digest: string, now: Date = new Date()): ReceiptPayload {
  const parts = receipt.trim().split(".");
  const bytes = parts.length === 2 ? fromBase64url(parts[0] ?? "") : null;
  const signature = parts.length === 2 ? fromBase64url(parts[1] ?? "") : null;
  if (!bytes || !signature || bytes.length === 0) {
    throw new ReceiptError("receipt_malformed", "The receipt is not of the form base64url(payload).base64url(signature).", 400);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ReceiptError("receipt_malformed", "The receipt payload is not JSON.", 400);
  }
  const result = payloadSchema.safeParse(parsed);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => issue.path.join(".") || "payload"))];
    throw new ReceiptError("receipt_malformed", `The receipt payload is not a v1 receipt (${fields.join(", ")}).`, 400);
  }
  const payload = result.data as ReceiptPayload;
  const key = keys.keys.find((candidate) => candidate.kid === payload.kid);
  const publicKey = key ? fromBase64url(key.public_key) : null;
  if (!key || !publicKey || publicKey.length !== nacl.sign.publicKeyLength) {
    throw new ReceiptError("receipt_unknown_key", `The receipt is signed by key ${payload.kid}, which the published keys do not hold.`);
  }
  if (signature.length !== nacl.sign.signatureLength || !nacl.sign.detached.verify(bytes, signature, publicKey)) {
    throw new ReceiptError("receipt_bad_signature", `The receipt signature does not verify under key ${payload.kid}.`);
  }
  if (payload.decision !== "approved") {
    throw new ReceiptError("receipt_not_approved", `The receipt records a ${payload.decision} decision, not an approval.`);
  }
  if (payload.digest.toLowerCase() !== digest.trim().toLowerCase()) {
    throw new ReceiptError("receipt_digest_mismatch", "The receipt approves a different digest than the one given.");
  }
  if (now.getTime() > Date.parse(payload.expires_at)) {
    throw new ReceiptError("receipt_expired", `The receipt expired at ${payload.expires_at}.`);
  }
  return payload;
}

/** Validate a keys.json document (as served at /.well-known/agent-gate/keys.json). */
export function parsePublishedKeys(value: unknown): PublishedKeys {
  const result = publishedKeysSchema.safeParse(value);
  if (!result.success) {
    throw new GateError("keys_malformed", "The keys document is not an Agent Gate keys.json ({keys: [{kid, alg, public_key, status, created_at}]}).", {
      status: 400,
    });
  }
  return result.data;
}
