import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { signCheckpoint, verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(4));
const signer: Signer = { keyId: "sk1", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [{ kid: "sk1", alg: "Ed25519", public_key: toBase64url(pair.publicKey), status: "current", created_at: "2026-11-23T00:00:00.000Z" }],
};
const hash = createHash("sha256").update("head").digest("hex");

describe("signed checkpoint note", () => {
  const note = signCheckpoint({ installationId: 42, seq: 1234, hash }, signer);

  it("has the C2SP signed-note shape with a 4-byte key id", () => {
    const [body, sigs] = note.split("\n\n");
    expect(body).toBe(`agent-gate/audit/42\n1234\n${Buffer.from(hash, "hex").toString("base64")}`);
    const match = /^\u2014 agent-gate\/sk1 (\S+)\n$/.exec(sigs ?? "");
    expect(match).not.toBeNull();
    const blob = Buffer.from(match![1]!, "base64");
    expect(blob).toHaveLength(68);
    const id = createHash("sha256").update("agent-gate/sk1\n").update(Uint8Array.of(1)).update(pair.publicKey).digest().subarray(0, 4);
    expect(blob.subarray(0, 4).equals(id)).toBe(true);
  });

  it("verifies against the published keys", () => {
    expect(verifyCheckpoint(note, keys)).toEqual({ ok: true, checkpoint: { installationId: 42, seq: 1234, hash } });
  });

  it("refuses an altered size, an unknown key and a malformed note", () => {
    expect(verifyCheckpoint(note.replace("\n1234\n", "\n1233\n"), keys)).toMatchObject({ ok: false, reason: expect.stringContaining("does not verify") });
    expect(verifyCheckpoint(note, { keys: [] })).toEqual({ ok: false, reason: "no signature by a published key" });
    expect(verifyCheckpoint("agent-gate/audit/42\n", keys)).toMatchObject({ ok: false });
  });
});
