import { createHash, randomInt } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * Agent token format: `agt_` + 30 random base62 characters + a 6-character
 * base62 CRC32 of everything before it. The checksum lets a secret scanner
 * and the server reject a mistyped or invented token without a lookup.
 */
export const TOKEN_PREFIX = "agt_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** Characters kept for display: `agt_` and the first four random characters. */
export const DISPLAY_PREFIX_LENGTH = 8;

const TOKEN_PATTERN = /^agt_[0-9A-Za-z]{36}$/;

export function base62(value: number, width: number): string {
  let rest = value;
  let text = "";
  while (rest > 0) {
    text = ALPHABET[rest % 62] + text;
    rest = Math.floor(rest / 62);
  }
  return text.padStart(width, "0");
}

export function tokenChecksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

/** A fresh token; `pick` draws an index below 62 (crypto.randomInt unless a test injects one). */
export function generateToken(pick: (max: number) => number = randomInt): string {
  let body = TOKEN_PREFIX;
  for (let i = 0; i < RANDOM_LENGTH; i += 1) body += ALPHABET[pick(ALPHABET.length)];
  return body + tokenChecksum(body);
}

/** True when the text has the token shape and its checksum matches. */
export function isWellFormedToken(text: string): boolean {
  if (!TOKEN_PATTERN.test(text)) return false;
  const body = text.slice(0, TOKEN_LENGTH - CHECKSUM_LENGTH);
  return tokenChecksum(body) === text.slice(TOKEN_LENGTH - CHECKSUM_LENGTH);
}

/** What the database stores: SHA-256, hex. */
export function tokenSha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** GitHub's `hashed_token` form for audit events: base64 of the SHA-256. */
export function hashedToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64");
}

export function displayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** `hashed_token` from the stored hex digest, for events about a token no longer at hand. */
export function hashedTokenFromSha256(sha256Hex: string): string {
  return Buffer.from(sha256Hex, "hex").toString("base64");
}

/** A token's name: what check runs and the review page show as the proposer. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `name` cannot name a token, or null when it can. */
export function tokenNameProblem(name: string): string | null {
  return TOKEN_NAME_PATTERN.test(name)
    ? null
    : "must be 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
}
