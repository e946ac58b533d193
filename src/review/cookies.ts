import type { IncomingMessage } from "node:http";

/** The request's cookies by name; a malformed pair is skipped. */
export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (req.headers.cookie ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
  }
  return cookies;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  path: string;
  secure: boolean;
  sameSite: "Lax" | "Strict";
}

/** A Set-Cookie value: always HttpOnly; Secure when the app is served over HTTPS. */
export function cookieHeader(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${o.path}`,
    `Max-Age=${o.maxAge}`,
    "HttpOnly",
    `SameSite=${o.sameSite}`,
    ...(o.secure ? ["Secure"] : []),
  ].join("; ");
}
