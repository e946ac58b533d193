import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The one-time setup code (as Jenkins prints its initial admin password): made at start, printed only in the
 * app's log, asked for by the setup page. Whoever cannot read the log cannot register an App for this process.
 */
export function newSetupCode(): string {
  // 128 bits, as four groups of hex digits to copy by eye or by mouse.
  return (randomBytes(16).toString("hex").match(/.{8}/g) ?? []).join("-");
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Whether `given` is the code, compared in constant time; spaces and case are forgiven (a copy from a terminal). */
export function setupCodeMatches(code: string, given: unknown): boolean {
  if (typeof given !== "string" || given.length > 200) return false;
  const normalise = (text: string) => text.trim().toLowerCase().replace(/\s+/g, "");
  return timingSafeEqual(digest(normalise(code)), digest(normalise(given)));
}
