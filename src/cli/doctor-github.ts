import { createPrivateKey } from "node:crypto";
import { SignJWT } from "jose";
import { settingsOf } from "../config/settings.ts";
import type { CheckResult } from "./doctor.ts";

/** The App's private key from PRIVATE_KEY or PRIVATE_KEY_PATH's file contents (already read). */
export interface AppCredentials {
  appId: string | undefined;
  pem: string | undefined;
}

/**
 * GitHub accepts the App's credentials: `GET /app` with a JWT signed by the
 * private key (GitHub Enterprise at GHE_HOST when set) answers this App.
 */
export async function checkGitHubApp(
  env: NodeJS.ProcessEnv,
  credentials: AppCredentials,
  fetchImpl: typeof fetch = fetch,
): Promise<CheckResult> {
  const name = "github_app";
  let api: string;
  try {
    api = settingsOf(env, ["GHE_HOST", "GHE_PROTOCOL"]).github.api;
  } catch (error) {
    // GHE_HOST with a scheme, or a bad GHE_PROTOCOL: the settings' message names the variables to set.
    return {
      name,
      ok: false,
      detail: `not checked: ${(error as Error).message}`,
      fix: "Set GHE_HOST to the host (and :port) only, and GHE_PROTOCOL to http or https.",
    };
  }
  if (!credentials.appId || !/^[1-9][0-9]{0,15}$/.test(credentials.appId) || !credentials.pem) {
    return {
      name,
      ok: false,
      detail: "not checked: APP_ID and the private key must be valid first",
      fix: "Fix app_id and private_key above.",
    };
  }
  let jwt: string;
  try {
    const key = createPrivateKey(credentials.pem.replace(/\\n/g, "\n"));
    const now = Math.floor(Date.now() / 1000);
    jwt = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer(credentials.appId)
      .setIssuedAt(now - 60)
      .setExpirationTime(now + 540)
      .sign(key);
  } catch {
    return { name, ok: false, detail: "not checked: the private key cannot sign a JWT", fix: "Fix private_key above." };
  }
  let res: Response;
  try {
    res = await fetchImpl(`${api}/app`, {
      headers: {
        authorization: `Bearer ${jwt}`,
        accept: "application/vnd.github+json",
        "user-agent": "agent-gate-doctor",
      },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return {
      name,
      ok: false,
      detail: `${api} could not be reached (${(error as Error).message})`,
      fix: "Check outbound HTTPS to GitHub (and GHE_HOST / GHE_PROTOCOL for GitHub Enterprise).",
    };
  }
  const body = (await res.json().catch(() => ({}))) as { id?: unknown; slug?: unknown };
  if (res.status === 401) {
    return {
      name,
      ok: false,
      detail: `GitHub refused the App's JWT (401 at ${api}/app)`,
      fix: "The private key does not belong to APP_ID, or the machine's clock is off: generate a new key on the App's settings page and check the time.",
    };
  }
  if (!res.ok)
    return {
      name,
      ok: false,
      detail: `GitHub answered ${res.status} for ${api}/app`,
      fix: "Check APP_ID and that the App still exists.",
    };
  if (String(body.id) !== credentials.appId) {
    return {
      name,
      ok: false,
      detail: `GitHub says the key belongs to App ${String(body.id)}, not APP_ID ${credentials.appId}`,
      fix: "Set APP_ID to the App whose private key this is.",
    };
  }
  return {
    name,
    ok: true,
    detail: `GitHub accepts the credentials of App ${credentials.appId}${typeof body.slug === "string" ? ` (${body.slug})` : ""}`,
  };
}

/** The webhook secret is set and long enough to resist guessing. */
export function checkWebhookSecret(env: NodeJS.ProcessEnv): CheckResult {
  const name = "webhook_secret";
  const fix =
    "Set WEBHOOK_SECRET to a random value of at least 16 characters (e.g. `openssl rand -hex 32`) and enter the same one in the App's settings.";
  const secret = env.WEBHOOK_SECRET ?? "";
  if (!secret) return { name, ok: false, detail: "WEBHOOK_SECRET is not set", fix };
  if (secret.length < 16) return { name, ok: false, detail: `WEBHOOK_SECRET is only ${secret.length} characters`, fix };
  if (secret.trim() !== secret)
    return { name, ok: false, detail: "WEBHOOK_SECRET starts or ends with whitespace", fix };
  return { name, ok: true, detail: `WEBHOOK_SECRET is set (${secret.length} characters)` };
}

const LOCAL = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** AGENT_GATE_PUBLIC_URL is an absolute https URL (or http on localhost), with no path, query or credentials. */
export function checkPublicUrl(env: NodeJS.ProcessEnv): CheckResult {
  const name = "public_url";
  const fix =
    "Set AGENT_GATE_PUBLIC_URL to the https address GitHub and reviewers reach this app at, e.g. https://gate.example.com.";
  const raw = env.AGENT_GATE_PUBLIC_URL ?? "";
  if (!raw)
    return {
      name,
      ok: false,
      detail: "AGENT_GATE_PUBLIC_URL is not set (links in check runs and the review page would point at localhost)",
      fix,
    };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { name, ok: false, detail: "AGENT_GATE_PUBLIC_URL is not an absolute URL", fix };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOCAL.has(url.hostname))) {
    return {
      name,
      ok: false,
      detail: `AGENT_GATE_PUBLIC_URL uses ${url.protocol.replace(":", "")} on ${url.hostname}; only localhost may use http`,
      fix,
    };
  }
  if (url.username || url.password || url.search || url.hash)
    return { name, ok: false, detail: "AGENT_GATE_PUBLIC_URL holds credentials, a query or a fragment", fix };
  return {
    name,
    ok: true,
    detail: `AGENT_GATE_PUBLIC_URL is ${url.origin}${url.pathname === "/" ? "" : url.pathname}`,
  };
}

/** The OAuth client the review page signs reviewers in with. */
export function checkOAuthClient(env: NodeJS.ProcessEnv): CheckResult {
  const name = "oauth_client";
  const fix =
    "Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to the App's client id and a client secret (App settings → Client secrets), so reviewers can sign in to the review page.";
  const missing = ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"].filter((key) => !env[key]);
  if (missing.length)
    return {
      name,
      ok: false,
      detail: `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set: nobody can sign in to the review page`,
      fix,
    };
  return { name, ok: true, detail: `the OAuth client ${env.GITHUB_CLIENT_ID} is set` };
}
