import { createHash, randomBytes } from "node:crypto";
import type { SiteMethod } from "./policy.ts";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const TOKEN_LENGTH = 32;
export const RECORD_PREFIX = "_agent-gate.";
export const RECORD_VALUE_PREFIX = "agent-gate-verification=";
export const FILE_PATH = "/.well-known/agent-gate-verification.txt";

/** 32 random base62 characters, drawn without modulo bias. */
export function newChallengeToken(): string {
  let token = "";
  while (token.length < TOKEN_LENGTH) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && token.length < TOKEN_LENGTH) token += BASE62[byte % 62];
    }
  }
  return token;
}

/** What the admin publishes; the token is a public challenge, not a secret. */
export interface Challenge {
  domain: string;
  method: SiteMethod;
  record_name: string;
  record_value: string;
  file_url: string;
  token: string;
}

export function challengeFor(domain: string, method: SiteMethod, token: string): Challenge {
  return {
    domain,
    method,
    record_name: `${RECORD_PREFIX}${domain}`,
    record_value: `${RECORD_VALUE_PREFIX}${token}`,
    file_url: `https://${domain}${FILE_PATH}`,
    token,
  };
}

/** What audit events hold instead of the token itself. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
