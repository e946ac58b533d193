import nacl from "tweetnacl";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.ts";
import { GateError } from "../errors.ts";
import { fromBase64url, toBase64url } from "./base64url.ts";
import type { PublishedKeys, Signer } from "./signer.ts";

/**
 * What a receipt says; signed as canonical JSON, kid included. A receipt is
 * the answer of one successful redemption: it names that redemption, so a
 * receipt exists only for an approval that was used, once.
 */
export interface ReceiptPayload {
  v: 2;
  kid: string;
  proposal_id: string;
  redemption_id: string;
  installation_id: number;
  repo: string;
  kind: string;
  digest: string;
  decision: "approved";
  approvers: string[];
  decided_at: string;
  redeemed_at: string;
  expires_at: string;
}

/**
 * What the executor is about to do. The digest alone is not enough: a commit's
 * SHA is the same in a fork, so the repository (and, when given, the kind and
 * the installation) must match the receipt too.
 */
export interface ReceiptExpectation {
  digest: string;
  repo: string;
  kind?: string;
  installationId?: number;
}

const payloadSchema = z.strictObject({
  v: z.literal(2),
  kid: z.string().min(1),
  proposal_id: z.string().min(1),
  redemption_id: z.string().min(1),
  installation_id: z.number().int(),
  repo: z.string().min(1),
  kind: z.string().min(1),
  digest: z.string().min(1),
  decision: z.literal("approved"),
  approvers: z.array(z.string()),
  decided_at: z.iso.datetime({ offset: true }),
  redeemed_at: z.iso.datetime({ offset: true }),
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
 * what is about to be executed: its digest in its repository (and kind and
 * installation when given). Returns the payload when the receipt is an
 * unexpired, redeemed approval of exactly that.
 */
export function verifyReceipt(
  receipt: string,
  keys: PublishedKeys,
  expected: ReceiptExpectation,
  now: Date = new Date(),
): ReceiptPayload {
  const parts = receipt.trim().split(".");
  const bytes = parts.length === 2 ? fromBase64url(parts[0] ?? "") : null;
  const signature = parts.length === 2 ? fromBase64url(parts[1] ?? "") : null;
  if (!bytes || !signature || bytes.length === 0) {
    throw new ReceiptError(
      "receipt_malformed",
      "The receipt is not of the form base64url(payload).base64url(signature).",
      400,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ReceiptError("receipt_malformed", "The receipt payload is not JSON.", 400);
  }
  if (parsed !== null && typeof parsed === "object" && (parsed as { v?: unknown }).v === 1) {
    throw new ReceiptError(
      "receipt_unredeemed",
      "The receipt is a version 1 receipt, which was handed out without a redemption; only a receipt from /redeem (version 2) proves a single use.",
    );
  }
  const result = payloadSchema.safeParse(parsed);
  if (!result.success) {
    const fields = [...new Set(result.error.issues.map((issue) => issue.path.join(".") || "payload"))];
    throw new ReceiptError("receipt_malformed", `The receipt payload is not a v2 receipt (${fields.join(", ")}).`, 400);
  }
  const payload = result.data as ReceiptPayload;
  const key = keys.keys.find((candidate) => candidate.kid === payload.kid);
  const publicKey = key ? fromBase64url(key.public_key) : null;
  if (!key || !publicKey || publicKey.length !== nacl.sign.publicKeyLength) {
    throw new ReceiptError(
      "receipt_unknown_key",
      `The receipt is signed by key ${payload.kid}, which the published keys do not hold.`,
    );
  }
  if (signature.length !== nacl.sign.signatureLength || !nacl.sign.detached.verify(bytes, signature, publicKey)) {
    throw new ReceiptError("receipt_bad_signature", `The receipt signature does not verify under key ${payload.kid}.`);
  }
  if (payload.digest.toLowerCase() !== expected.digest.trim().toLowerCase()) {
    throw new ReceiptError("receipt_digest_mismatch", "The receipt approves a different digest than the one given.");
  }
  if (payload.repo.toLowerCase() !== expected.repo.trim().toLowerCase()) {
    throw new ReceiptError(
      "receipt_repo_mismatch",
      `The receipt approves ${payload.kind} ${payload.digest} in ${payload.repo}, not in ${expected.repo.trim()}; a receipt of one repository is no approval for another (a fork included).`,
    );
  }
  if (expected.kind !== undefined && payload.kind !== expected.kind) {
    throw new ReceiptError("receipt_kind_mismatch", `The receipt approves a ${payload.kind}, not a ${expected.kind}.`);
  }
  if (expected.installationId !== undefined && payload.installation_id !== expected.installationId) {
    throw new ReceiptError(
      "receipt_installation_mismatch",
      `The receipt was issued for installation ${payload.installation_id}, not installation ${expected.installationId}.`,
    );
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
    throw new GateError(
      "keys_malformed",
      "The keys document is not an Agent Gate keys.json ({keys: [{kid, alg, public_key, status, created_at}]}).",
      {
        status: 400,
      },
    );
  }
  return result.data;
}
