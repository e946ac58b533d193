import { describe, expect, it } from "vitest";
import { crc32 } from "node:zlib";
import {
  TOKEN_LENGTH,
  base62,
  displayPrefix,
  generateToken,
  hashedToken,
  hashedTokenFromSha256,
  isWellFormedToken,
  tokenChecksum,
  tokenSha256,
} from "../../src/tokens/format.ts";

describe("agent token format", () => {
  it("is agt_ + 30 base62 + a 6-character base62 CRC32 of what precedes it", () => {
    const token = generateToken();
    expect(token).toMatch(/^agt_[0-9A-Za-z]{36}$/);
    expect(token).toHaveLength(TOKEN_LENGTH);
    const body = token.slice(0, 34);
    expect(token.slice(34)).toBe(base62(crc32(body), 6));
    expect(isWellFormedToken(token)).toBe(true);
  });

  it("is drawn from the injected source, so the checksum is reproducible", () => {
    const zeros = generateToken(() => 0);
    expect(zeros.slice(0, 34)).toBe(`agt_${"0".repeat(30)}`);
    expect(zeros.slice(34)).toBe(tokenChecksum(`agt_${"0".repeat(30)}`));
  });

  it("encodes base62 with zero padding up to the largest CRC32", () => {
    expect(base62(0, 6)).toBe("000000");
    expect(base62(61, 6)).toBe("00000z");
    expect(base62(62, 6)).toBe("000010");
    expect(base62(0xffffffff, 6)).toBe("4gfFC3");
  });

  it.each([
    ["empty", ""],
    ["wrong prefix", `ghp_${"a".repeat(36)}`],
    ["too short", generateToken().slice(0, -1)],
    ["too long", `${generateToken()}a`],
    ["non-base62 character", `agt_${"-".repeat(30)}000000`],
  ])("rejects a malformed token: %s", (_name, text) => {
    expect(isWellFormedToken(text)).toBe(false);
  });

  it("rejects every single-character typo through the checksum", () => {
    const token = generateToken();
    for (let i = 4; i < token.length; i += 1) {
      const swapped = token[i] === "a" ? "b" : "a";
      expect(isWellFormedToken(token.slice(0, i) + swapped + token.slice(i + 1))).toBe(false);
    }
  });

  it("keeps only digests and the 8-character prefix", () => {
    const token = generateToken();
    expect(displayPrefix(token)).toBe(token.slice(0, 8));
    expect(tokenSha256(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashedToken(token)).toBe(Buffer.from(tokenSha256(token), "hex").toString("base64"));
    expect(hashedTokenFromSha256(tokenSha256(token))).toBe(hashedToken(token));
  });
});
