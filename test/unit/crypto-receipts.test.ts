import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "../../src/crypto/base64url.ts";
import { parsePublishedKeys, signReceipt, verifyReceipt, type ReceiptPayload } from "../../src/crypto/receipts.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { canonicalJson } from "../../src/canonical-json.ts";
import { GateError } from "../../src/errors.ts";

function signer(keyId: string, seed: number): Signer {
  const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(seed));
  return { keyId, secretKey: pair.secretKey, publicKey: pair.publicKey };
}

const current = signer("sk-2", 2);
const retired = signer("sk-1", 1);
const keys: PublishedKeys = {
  keys: [
    {
      kid: "sk-2",
      alg: "Ed25519",
      public_key: toBase64url(current.publicKey),
      status: "current",
      created_at: "2026-11-20T00:00:00.000Z",
    },
    {
      kid: "sk-1",
      alg: "Ed25519",
      public_key: toBase64url(retired.publicKey),
      status: "retired",
      created_at: "2026-11-01T00:00:00.000Z",
    },
  ],
};
const digest = "a".repeat(64);
const now = new Date("2026-11-23T12:00:00.000Z");
const payload: Omit<ReceiptPayload, "kid"> = {
  v: 2,
  proposal_id: "prop_1",
  redemption_id: "rdm_000000000000000000000001",
  installation_id: 42,
  repo: "octo/site",
  kind: "deploy",
  digest,
  decision: "approved",
  approvers: ["alice"],
  decided_at: "2026-11-23T11:00:00.000Z",
  redeemed_at: "2026-11-23T11:30:00.000Z",
  expires_at: "2026-11-24T11:00:00.000Z",
};
const expected = { digest, repo: "octo/site" };

function refusal(fn: () => unknown): GateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GateError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

function decodePayload(receipt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(fromBase64url(receipt.split(".")[0] ?? "") ?? []).toString("utf8")) as Record<
    string,
    unknown
  >;
}

describe("receipts", () => {
  it("signs the canonical JSON with the kid and verifies offline", () => {
    const receipt = signReceipt(payload, current);
    expect(receipt).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const bytes = fromBase64url(receipt.split(".")[0] ?? "");
    expect(Buffer.from(bytes ?? []).toString("utf8")).toBe(canonicalJson({ ...payload, kid: "sk-2" }));
    expect(verifyReceipt(receipt, keys, expected, now)).toEqual({ ...payload, kid: "sk-2" });
    expect(verifyReceipt(receipt, keys, { ...expected, digest: digest.toUpperCase() }, now).kid).toBe("sk-2");
  });

  it("verifies receipts signed by a retired key", () => {
    expect(verifyReceipt(signReceipt(payload, retired), keys, expected, now).kid).toBe("sk-1");
  });

  it.each<[string, () => string, string, string?, Date?]>([
    [
      "a tampered payload",
      () => {
        const [, sig] = signReceipt(payload, current).split(".");
        const forged = toBase64url(
          new TextEncoder().encode(canonicalJson({ ...payload, kid: "sk-2", approvers: ["mallory"] })),
        );
        return `${forged}.${sig}`;
      },
      "receipt_bad_signature",
    ],
    [
      "a swapped signature",
      () => {
        const [body] = signReceipt(payload, current).split(".");
        const [, otherSig] = signReceipt({ ...payload, proposal_id: "prop_2" }, current).split(".");
        return `${body}.${otherSig}`;
      },
      "receipt_bad_signature",
    ],
    [
      "a signature by a key claiming another kid",
      () => {
        const impostor = signer("sk-2", 9);
        return signReceipt(payload, impostor);
      },
      "receipt_bad_signature",
    ],
    ["a wrong digest", () => signReceipt(payload, current), "receipt_digest_mismatch", "b".repeat(64)],
    [
      "an expired receipt",
      () => signReceipt(payload, current),
      "receipt_expired",
      digest,
      new Date("2026-11-24T11:00:00.001Z"),
    ],
    ["an unknown kid", () => signReceipt(payload, signer("sk-9", 9)), "receipt_unknown_key"],
    [
      "a rejection",
      () => {
        const bytes = new TextEncoder().encode(canonicalJson({ ...payload, decision: "rejected", kid: "sk-2" }));
        return `${toBase64url(bytes)}.${toBase64url(nacl.sign.detached(bytes, current.secretKey))}`;
      },
      "receipt_malformed",
    ],
    [
      "a v1 receipt, handed out without a redemption",
      () => {
        const { redemption_id: _r, redeemed_at: _at, ...v1 } = payload;
        const bytes = new TextEncoder().encode(canonicalJson({ ...v1, v: 1, kid: "sk-2" }));
        return `${toBase64url(bytes)}.${toBase64url(nacl.sign.detached(bytes, current.secretKey))}`;
      },
      "receipt_unredeemed",
    ],
    ["one part only", () => "abc", "receipt_malformed"],
    ["non-base64url", () => "a*b.c", "receipt_malformed"],
    ["a payload that is not JSON", () => `${toBase64url(new TextEncoder().encode("{nope"))}.AAAA`, "receipt_malformed"],
    [
      "a payload of another version",
      () => {
        const bytes = new TextEncoder().encode(canonicalJson({ ...payload, v: 3, kid: "sk-2" }));
        return `${toBase64url(bytes)}.${toBase64url(nacl.sign.detached(bytes, current.secretKey))}`;
      },
      "receipt_malformed",
    ],
  ])("refuses %s", (_name, make, code, given = digest, at = now) => {
    const error = refusal(() => verifyReceipt(make(), keys, { ...expected, digest: given }, at));
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it("accepts a receipt at the very instant it expires, not after", () => {
    const receipt = signReceipt(payload, current);
    expect(verifyReceipt(receipt, keys, expected, new Date(payload.expires_at)).proposal_id).toBe("prop_1");
  });

  it.each<[string, Partial<{ repo: string; kind: string; installationId: number }>, string, RegExp]>([
    [
      "the same commit in a fork",
      { repo: "mallory/site" },
      "receipt_repo_mismatch",
      /octo\/site, not in mallory\/site/,
    ],
    ["another kind", { kind: "outreach" }, "receipt_kind_mismatch", /a deploy, not a outreach/],
    [
      "another installation",
      { installationId: 7 },
      "receipt_installation_mismatch",
      /installation 42, not installation 7/,
    ],
  ])("refuses a receipt presented for %s, saying what it approves", (_name, other, code, message) => {
    const error = refusal(() => verifyReceipt(signReceipt(payload, current), keys, { ...expected, ...other }, now));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(
      verifyReceipt(
        signReceipt(payload, current),
        keys,
        { ...expected, repo: "OCTO/Site", kind: "deploy", installationId: 42 },
        now,
      ).repo,
    ).toBe("octo/site");
  });

  it("names the kid in the payload so the verifier can pick the key", () => {
    expect(decodePayload(signReceipt(payload, retired)).kid).toBe("sk-1");
  });

  it("validates a keys.json document", () => {
    expect(parsePublishedKeys(JSON.parse(JSON.stringify(keys)))).toEqual(keys);
    expect(() => parsePublishedKeys({ keys: [{ kid: "x", alg: "RS256" }] })).toThrow(/keys.json/);
  });
});
