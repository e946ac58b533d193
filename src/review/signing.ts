import { createHmac, timingSafeEqual } from "node:crypto";
import type { Keyring } from "../crypto/keyring.ts";

/** Message authentication for the review page's cookies and CSRF tokens. */
export interface PageSigner {
  /** base64url HMAC of `value` for `purpose`, under the keyring's current key. */
  sign(purpose: string, value: string): string;
  /** Whether `mac` is `value`'s for `purpose` under any key of the keyring (so rotation keeps sessions). */
  verify(purpose: string, value: string, mac: string): boolean;
}

const LABEL = "agent-gate review page v1";

/**
 * Keys for the page derived from the encryption keyring (HMAC-SHA256 of a
 * fixed label), so no further secret needs configuring and a derived key
 * never equals an encryption key.
 */
export function pageSigner(keyring: Keyring): PageSigner {
  const derive = (key: Uint8Array) => createHmac("sha256", key).update(LABEL).digest();
  const current = derive(keyring.current.key);
  const all = [...keyring.keys.values()].map(derive);
  const mac = (key: Buffer, purpose: string, value: string) =>
    createHmac("sha256", key).update(`${purpose}\0${value}`).digest();
  return {
    sign: (purpose, value) => mac(current, purpose, value).toString("base64url"),
    verify(purpose, value, given) {
      const presented = Buffer.from(given, "base64url");
      if (presented.length !== 32) return false;
      return all.some((key) => timingSafeEqual(mac(key, purpose, value), presented));
    },
  };
}
