import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  formatKeyring,
  generateKeyEntry,
  open,
  openText,
  parseKeyring,
  resolveKeyring,
  seal,
  sealedKeyId,
  type SealBinding,
} from "../../src/crypto/keyring.ts";
import { GateError, ValidationError } from "../../src/errors.ts";

const KEY_A = Buffer.alloc(32, 1).toString("base64");
const KEY_B = Buffer.alloc(32, 2).toString("base64");
const binding: SealBinding = { purpose: "outreach_body", rowId: "p_1", installationId: 42 };

function refusal(fn: () => unknown): GateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GateError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("parseKeyring", () => {
  it("takes the first entry as current and keeps every key", () => {
    const ring = parseKeyring(` a:${KEY_A} , b:${KEY_B}`);
    expect(ring.current.id).toBe("a");
    expect([...ring.keys.keys()]).toEqual(["a", "b"]);
    expect(ring.keys.get("b")).toEqual(new Uint8Array(32).fill(2));
    expect(formatKeyring(ring)).toBe(`a:${KEY_A},b:${KEY_B}`);
  });

  it.each([
    ["", /holds no key/],
    [`bad kid!:${KEY_A}`, /entry 1 must be kid:base64key/],
    [KEY_A, /entry 1 must be kid:base64key/],
    [`a:${Buffer.alloc(16, 1).toString("base64")}`, /entry 1 \(a\): the key must be 32 bytes/],
    [`a:${KEY_A},b:not*base64`, /entry 2 \(b\): the key must be 32 bytes/],
    [`a:${KEY_A},a:${KEY_B}`, /key id a appears twice/],
    [`${"x".repeat(33)}:${KEY_A}`, /entry 1 must be kid/],
  ])("refuses %j on AGENT_GATE_KEYS without echoing key material", (text, message) => {
    const error = refusal(() => parseKeyring(text));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.every((issue) => issue.field === "AGENT_GATE_KEYS")).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(KEY_A);
    expect(error.message).not.toContain(KEY_B);
    expect(error.message).not.toContain("not*base64");
  });

  it("generates entries that parse to a 32-byte key", () => {
    const entry = generateKeyEntry("k2");
    const ring = parseKeyring(entry);
    expect(ring.current.id).toBe("k2");
    expect(ring.current.key).toHaveLength(32);
    expect(generateKeyEntry("k2")).not.toBe(entry);
    expect(() => generateKeyEntry("no spaces")).toThrow(ValidationError);
  });
});

describe("seal and open", () => {
  const ring = parseKeyring(`a:${KEY_A},b:${KEY_B}`);

  it("round-trips text and bytes under the current key id", () => {
    const sealed = seal(ring, binding, "Hello, maintainer ✓");
    expect(sealed).toMatch(/^v1\.a\.[A-Za-z0-9_-]+$/);
    expect(sealedKeyId(sealed)).toBe("a");
    expect(openText(ring, binding, sealed)).toBe("Hello, maintainer ✓");
    const bytes = new Uint8Array([0, 10, 255, 10]);
    expect(open(ring, binding, seal(ring, binding, bytes))).toEqual(bytes);
    expect(seal(ring, binding, "same")).not.toBe(seal(ring, binding, "same"));
  });

  it.each([
    ["another row", { ...binding, rowId: "p_2" }],
    ["another installation", { ...binding, installationId: 43 }],
    ["another purpose", { ...binding, purpose: "signing_key" }],
  ])("refuses a ciphertext moved to %s", (_name, other) => {
    const sealed = seal(ring, binding, "private");
    const error = refusal(() => open(ring, other, sealed));
    expect(error.code).toBe("sealed_value_mismatch");
    expect(error.message).toMatch(/another row or installation/);
  });

  it("refuses an unknown key id, a tampered box and garbage", () => {
    const sealed = seal(ring, binding, "private");
    const onlyB = parseKeyring(`b:${KEY_B}`);
    expect(refusal(() => open(onlyB, binding, sealed)).message).toMatch(/key a, which is not in AGENT_GATE_KEYS/);
    const body = sealed.split(".")[2] ?? "";
    const flipped = `${body.slice(0, -2)}${body.endsWith("AA") ? "BB" : "AA"}`;
    expect(refusal(() => open(ring, binding, `v1.a.${flipped}`)).code).toBe("sealed_value_mismatch");
    expect(refusal(() => open(ring, binding, `v1.b.${body}`)).message).toMatch(/failed to decrypt under key b/);
    expect(refusal(() => open(ring, binding, "plain text")).code).toBe("sealed_value_mismatch");
    expect(refusal(() => open(ring, binding, "v1.a.")).code).toBe("sealed_value_mismatch");
  });

  it("opens old values after the keyring rotates, while the old key stays in the ring", () => {
    const old = seal(parseKeyring(`a:${KEY_A}`), binding, "kept");
    const rotated = parseKeyring(`b:${KEY_B},a:${KEY_A}`);
    expect(openText(rotated, binding, old)).toBe("kept");
    expect(sealedKeyId(seal(rotated, binding, "new"))).toBe("b");
  });
});

describe("resolveKeyring", () => {
  it("prefers AGENT_GATE_KEYS", () => {
    const ring = resolveKeyring(`a:${KEY_A}`, { dataDir: "/nonexistent", embedded: false });
    expect(ring.current.id).toBe("a");
  });

  it("refuses to start on PostgreSQL without a keyring and says what to set", () => {
    const error = refusal(() => resolveKeyring(undefined, { dataDir: "/nonexistent", embedded: false }));
    expect(error.code).toBe("keyring_missing");
    expect(error.message).toMatch(/AGENT_GATE_KEYS/);
    expect(error.message).toMatch(/agent-gate keys generate/);
  });

  it("creates a 0600 keyring file for the embedded database once, then reuses it", () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "agent-gate-keyring-")), "nested", "data");
    const logs: string[] = [];
    const first = resolveKeyring(undefined, {
      dataDir,
      embedded: true,
      log: (msg) => logs.push(msg),
      now: new Date("2026-11-23T00:00:00Z"),
    });
    const file = join(dataDir, "keyring");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.current.id).toMatch(/^k20261123-[0-9a-f]{6}$/);
    expect(logs[0]).toContain(file);
    const second = resolveKeyring(undefined, { dataDir, embedded: true, log: (msg) => logs.push(msg) });
    expect(second.current).toEqual(first.current);
    expect(readFileSync(file, "utf8").trim()).toBe(formatKeyring(first));
    expect(logs[1]).toContain(file);
  });
});

describe("resolveKeyring with a damaged file", () => {
  it("names the file and hides its content", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "agent-gate-keyring-bad-"));
    writeFileSync(join(dataDir, "keyring"), `a:${KEY_A.slice(0, 20)}\n`);
    const error = refusal(() => resolveKeyring(undefined, { dataDir, embedded: true }));
    expect(error.code).toBe("keyring_invalid");
    expect(error.message).toContain(join(dataDir, "keyring"));
    expect(error.message).not.toContain(KEY_A.slice(0, 20));
  });
});
