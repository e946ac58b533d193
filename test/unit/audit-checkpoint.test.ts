import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { signCheckpoint, verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { noteKeyId, openNote, parseVerifierKey, signNote, verifierKey } from "../../src/audit/note.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(4));
const signer: Signer = { keyId: "sk1", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "sk1",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: "2026-11-23T00:00:00.000Z",
    },
  ],
};
const root = createHash("sha256").update("root").digest("hex");

describe("C2SP signed-note test vectors", () => {
  // The example of golang.org/x/mod/sumdb/note (the format's reference implementation).
  const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
  const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  const GO_TEXT =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
  // The example of the C2SP signed-note specification.
  const SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  const SPEC_NOTE =
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

  it("derives the reference key id and verifier key, and signs the reference note byte for byte", () => {
    const seed = Buffer.from(GO_SKEY.split("+").slice(4).join("+"), "base64");
    expect(seed[0]).toBe(1);
    const goPair = nacl.sign.keyPair.fromSeed(seed.subarray(1));
    expect(noteKeyId("PeterNeumann", goPair.publicKey).toString("hex")).toBe("c74f20a3");
    expect(verifierKey("PeterNeumann", goPair.publicKey)).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, "PeterNeumann", goPair.secretKey, goPair.publicKey)).toBe(GO_NOTE);
  });

  it("opens the reference notes with their verifier keys", () => {
    const go = parseVerifierKey(GO_VKEY)!;
    expect(openNote(GO_NOTE, [go])).toMatchObject({ ok: true, text: GO_TEXT, verifiedBy: ["PeterNeumann"] });
    const spec = parseVerifierKey(SPEC_VKEY)!;
    expect(spec.name).toBe("example.com/foo");
    expect(openNote(SPEC_NOTE, [spec])).toMatchObject({
      ok: true,
      text: "This is an example message.\n",
      verifiedBy: ["example.com/foo"],
    });
  });

  it("refuses an altered text, a key id that does not match, and a note with no known key", () => {
    const go = parseVerifierKey(GO_VKEY)!;
    expect(openNote(GO_NOTE.replace("problem,", "problem;"), [go])).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not verify"),
    });
    expect(parseVerifierKey(GO_VKEY.replace("c74f20a3", "c74f20a4"))).toBeNull();
    expect(openNote(GO_NOTE, [parseVerifierKey(SPEC_VKEY)!])).toMatchObject({
      ok: false,
      reason: "no signature by a known key",
    });
  });
});

describe("signed checkpoint note", () => {
  const note = signCheckpoint({ installationId: 42, size: 1234, root }, signer);

  it("is a C2SP tlog-checkpoint (origin, tree size, base64 root) in a signed note with a 4-byte key id", () => {
    const [body, sigs] = note.split("\n\n");
    expect(body).toBe(`agent-gate/audit/42\n1234\n${Buffer.from(root, "hex").toString("base64")}`);
    const match = /^\u2014 agent-gate\/sk1 (\S+)\n$/.exec(sigs ?? "");
    expect(match).not.toBeNull();
    const blob = Buffer.from(match![1]!, "base64");
    expect(blob).toHaveLength(68);
    const id = createHash("sha256")
      .update("agent-gate/sk1\n")
      .update(Uint8Array.of(1))
      .update(pair.publicKey)
      .digest()
      .subarray(0, 4);
    expect(blob.subarray(0, 4).equals(id)).toBe(true);
  });

  it("verifies against the published keys", () => {
    expect(verifyCheckpoint(note, keys)).toEqual({
      ok: true,
      checkpoint: { installationId: 42, size: 1234, root },
      signedBy: ["agent-gate/sk1"],
      otherSignatures: [],
    });
  });

  it("refuses an altered size, an unknown key and a malformed note", () => {
    expect(verifyCheckpoint(note.replace("\n1234\n", "\n1233\n"), keys)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not verify"),
    });
    expect(verifyCheckpoint(note, { keys: [] })).toEqual({ ok: false, reason: "no signature by a published key" });
    expect(verifyCheckpoint("agent-gate/audit/42\n", keys)).toMatchObject({ ok: false });
  });
});
