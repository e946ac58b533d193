import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { GateError } from "../errors.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";
import type { PageSigner } from "./signing.ts";

/** The GitHub App's OAuth credentials (user-to-server tokens) and GitHub's web address. */
export interface OAuthSettings {
  clientId: string;
  clientSecret: string;
  /** https://github.com, or the Enterprise Server's own host. */
  webUrl: string;
}

/** Where the browser comes back from GitHub. */
export const CALLBACK_PATH = "/login/oauth/callback";
/** A sign-in must come back within this many seconds. */
export const SIGN_IN_SECONDS = 600;

/** Only proposal pages are places to return to after signing in: never another site. */
export function safeReturnPath(value: string | null): string | null {
  if (!value) return null;
  // A Slack user's one-time link page (src/review/slack-link-routes.ts).
  if (/^\/slack\/link\/[A-Za-z0-9_-]{20,64}$/.test(value)) return value;
  const match = /^\/proposals\/([^/?#]+)$/.exec(value);
  return match && PROPOSAL_ID_PATTERN.test(match[1]!) ? value : null;
}

/**
 * A new sign-in: a random `state` for GitHub, and the signed cookie value that
 * binds it to this browser and to where it returns.
 */
export function beginSignIn(signer: PageSigner, returnTo: string): { state: string; cookie: string } {
  const state = randomBytes(32).toString("base64url");
  const value = `${state}.${Buffer.from(returnTo, "utf8").toString("base64url")}`;
  return { state, cookie: `${value}.${signer.sign("oauth_state", value)}` };
}

/** The return path when the `state` GitHub sent back is the one this browser's cookie holds; otherwise null. */
export function checkState(signer: PageSigner, cookie: string | undefined, state: string | null): string | null {
  const [nonce, encoded, mac, extra] = (cookie ?? "").split(".");
  if (!nonce || !encoded || !mac || extra !== undefined || !state) return null;
  if (!signer.verify("oauth_state", `${nonce}.${encoded}`, mac)) return null;
  if (!sameSecret(nonce, state)) return null;
  return safeReturnPath(Buffer.from(encoded, "base64url").toString("utf8"));
}

/**
 * Where a sign-in meant to return, from this browser's signed state cookie
 * alone (whatever GitHub sent back): only to offer signing in again.
 */
export function intendedReturn(signer: PageSigner, cookie: string | undefined): string | null {
  const [nonce, encoded, mac, extra] = (cookie ?? "").split(".");
  if (!nonce || !encoded || !mac || extra !== undefined || !signer.verify("oauth_state", `${nonce}.${encoded}`, mac))
    return null;
  return safeReturnPath(Buffer.from(encoded, "base64url").toString("utf8"));
}

/** Constant-time equality of two secrets of any length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function authorizeUrl(settings: OAuthSettings, redirectUri: string, state: string): string {
  const url = new URL("/login/oauth/authorize", settings.webUrl);
  url.searchParams.set("client_id", settings.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("state", state);
  url.searchParams.set("allow_signup", "false");
  return url.toString();
}

/**
 * Exchange the code for a user-to-server token. GitHub answers a bad code with
 * 200 and an `error` field: that, like any failure, throws and signs no one in.
 */
export async function exchangeCode(
  settings: OAuthSettings,
  code: string,
  redirectUri: string,
): Promise<{ token: string; expiresIn: number | null }> {
  const response = await fetch(new URL("/login/oauth/access_token", settings.webUrl), {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      code,
      redirect_uri: redirectUri,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: unknown;
    expires_in?: unknown;
    error?: unknown;
  };
  if (!response.ok || typeof body.access_token !== "string" || body.access_token === "") {
    const reason = typeof body.error === "string" ? body.error.replace(/[^a-z_]/g, "") : `HTTP ${response.status}`;
    throw new GateError("sign_in_failed", `GitHub did not complete the sign-in (${reason}). Sign in again.`, {
      status: 502,
    });
  }
  return { token: body.access_token, expiresIn: typeof body.expires_in === "number" ? body.expires_in : null };
}
