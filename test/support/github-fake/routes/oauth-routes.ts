import { randomBytes } from "node:crypto";
import type { GitHubCall, Reply } from "../../github-fake.ts";
import type { GitHubState } from "../state.ts";
import { userShape } from "../shapes.ts";
import type { DefaultRoute } from "./reply.ts";

// GitHub's web flow for a GitHub App's user-to-server tokens (served at the
// host, not under /api/v3, as github.com and GitHub Enterprise Server do), and
// the API answers that depend on whose token it is.

const ERROR_URI =
  "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

function formOf(call: GitHubCall): URLSearchParams {
  if (typeof call.body === "string") return new URLSearchParams(call.body);
  const params = new URLSearchParams(call.query);
  for (const [key, value] of Object.entries((call.body ?? {}) as Record<string, unknown>))
    params.set(key, String(value));
  return params;
}

function oauthError(error: string, description: string): Reply {
  // GitHub answers a failed exchange with 200 and an error body.
  return {
    status: 200,
    body: { error, error_description: description, error_uri: `${ERROR_URI}#${error.replace(/_/g, "-")}` },
  };
}

/** Problems with a web-flow request, as GitHub's documentation states the parameters. */
export function webFlowProblems(call: GitHubCall): string[] {
  const required =
    call.path === "/login/oauth/authorize"
      ? ["client_id", "redirect_uri", "state"]
      : call.path === "/login/oauth/access_token"
        ? ["client_id", "client_secret", "code"]
        : [];
  const form = call.path === "/login/oauth/authorize" ? call.query : formOf(call);
  return required.filter((name) => !form.get(name)).map((name) => `web flow parameter ${name} is required`);
}

export const webFlowRoutes: DefaultRoute[] = [
  {
    // Registering an App from a manifest (the form of a setup page): GitHub parses the manifest, and after the
    // user confirms, redirects to its redirect_url with a temporary code for POST /app-manifests/{code}/conversions.
    method: "POST",
    route: "/settings/apps/new",
    handle: (call, _params, { state, now }): Reply => {
      const text = formOf(call).get("manifest");
      let manifest: Record<string, any> | null = null;
      try {
        const parsed: unknown = JSON.parse(text ?? "");
        manifest =
          parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, any>) : null;
      } catch {
        manifest = null;
      }
      const html = { "content-type": "text/html; charset=utf-8" };
      if (!manifest)
        return { status: 422, headers: html, body: "<p>Invalid GitHub App manifest: it is not a JSON object.</p>" };
      if (
        typeof manifest.name !== "string" ||
        typeof manifest.url !== "string" ||
        typeof manifest.hook_attributes?.url !== "string"
      ) {
        return {
          status: 422,
          headers: html,
          body: "<p>Invalid GitHub App manifest: name, url and hook_attributes.url are required.</p>",
        };
      }
      const code = randomBytes(10).toString("hex");
      state.manifestCodes.set(code, { manifest, expiresAt: now().getTime() + 3600_000 });
      const target = new URL(typeof manifest.redirect_url === "string" ? manifest.redirect_url : manifest.url);
      target.searchParams.set("code", code);
      // GitHub hands the `state` of the form's action back unchanged, as the web flow does.
      const given = call.query.get("state");
      if (given !== null) target.searchParams.set("state", given);
      return { status: 302, headers: { location: target.toString() } };
    },
  },
  {
    method: "GET",
    route: "/login/oauth/authorize",
    handle: (call, _params, { state, now }): Reply => {
      const client = state.oauthClient;
      const redirectUri = call.query.get("redirect_uri");
      if (!client || call.query.get("client_id") !== client.clientId || !redirectUri) {
        return {
          status: 404,
          body: "<p>The application could not be found.</p>",
          headers: { "content-type": "text/html; charset=utf-8" },
        };
      }
      const target = new URL(redirectUri);
      if (!state.webUser) {
        target.searchParams.set("error", "access_denied");
      } else {
        const code = randomBytes(10).toString("hex");
        state.oauthCodes.set(code, { login: state.webUser, redirectUri, expiresAt: now().getTime() + 600_000 });
        target.searchParams.set("code", code);
      }
      const given = call.query.get("state");
      if (given !== null) target.searchParams.set("state", given);
      return { status: 302, headers: { location: target.toString() } };
    },
  },
  {
    method: "POST",
    route: "/login/oauth/access_token",
    handle: (call, _params, { state, now }) => {
      const form = formOf(call);
      const client = state.oauthClient;
      if (!client || form.get("client_id") !== client.clientId || form.get("client_secret") !== client.clientSecret) {
        return oauthError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
      }
      const code = state.oauthCodes.get(form.get("code") ?? "");
      state.oauthCodes.delete(form.get("code") ?? "");
      if (!code || code.expiresAt < now().getTime())
        return oauthError("bad_verification_code", "The code passed is incorrect or expired.");
      const redirectUri = form.get("redirect_uri");
      if (redirectUri !== null && redirectUri !== code.redirectUri) {
        return oauthError(
          "redirect_uri_mismatch",
          "The redirect_uri MUST match the registered callback URL for this application.",
        );
      }
      const token = `ghu_${randomBytes(18).toString("base64url")}`;
      state.userTokens.set(token, code.login);
      return {
        status: 200,
        body: {
          access_token: token,
          expires_in: 28_800,
          refresh_token: `ghr_${randomBytes(30).toString("base64url")}`,
          refresh_token_expires_in: 15_811_200,
          scope: "",
          token_type: "bearer",
        },
      };
    },
  },
];

function tokenOf(call: GitHubCall): string {
  return /^(?:bearer|token) (\S+)$/i.exec(String(call.headers.authorization ?? ""))?.[1] ?? "";
}

/** The login a request's user-to-server token belongs to; null for any other token (or none). */
export function userOf(state: GitHubState, call: GitHubCall): string | null {
  return state.userTokens.get(tokenOf(call)) ?? null;
}

/** A user-to-server token (ghu_) GitHub does not know, or no longer: GitHub answers 401. */
export function revokedUserToken(state: GitHubState, call: GitHubCall): boolean {
  const token = tokenOf(call);
  return token.startsWith("ghu_") && !state.userTokens.has(token);
}

export const badCredentials: Reply = {
  status: 401,
  body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" },
};

/** `permissions` of a repository as GitHub shows them to a user's token. */
export function permissionsFor(role: string): Record<string, boolean> {
  const rank = ["none", "read", "triage", "write", "maintain", "admin"].indexOf(role);
  return { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 };
}

export const userRoutes: DefaultRoute[] = [
  {
    method: "GET",
    route: "/user",
    handle: (call, _params, { state, api }) => {
      const login = userOf(state, call);
      if (!login) return badCredentials;
      return { status: 200, body: { ...userShape(api, login), name: null, email: null } };
    },
  },
];
