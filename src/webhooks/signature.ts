import { createHmac, timingSafeEqual } from "node:crypto";

export type SignatureCheck =
  | { ok: true }
  | { ok: false; code: "signature_missing" | "signature_malformed" | "signature_mismatch"; reason: string };

/**
 * Check X-Hub-Signature-256 over the exact bytes received. SHA-1 signatures
 * (X-Hub-Signature) alone are refused: GitHub sends both, and only SHA-256 counts.
 */
export function checkSignature(secret: string, body: Buffer, header: string | string[] | undefined): SignatureCheck {
  if (header === undefined)
    return { ok: false, code: "signature_missing", reason: "missing X-Hub-Signature-256 header" };
  if (Array.isArray(header))
    return { ok: false, code: "signature_malformed", reason: "more than one X-Hub-Signature-256 header" };
  const match = /^sha256=([0-9a-f]{64})$/.exec(header);
  if (!match?.[1])
    return {
      ok: false,
      code: "signature_malformed",
      reason: "X-Hub-Signature-256 is not of the form sha256=<64 hex digits>",
    };
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(match[1], "hex");
  if (!timingSafeEqual(expected, given)) {
    return {
      ok: false,
      code: "signature_mismatch",
      reason: "signature does not match the body and the webhook secret",
    };
  }
  return { ok: true };
}

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
