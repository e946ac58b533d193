import { GateError } from "../errors.ts";
import type { Permission } from "../policy/config.ts";

/** The signed-in user's token no longer works (revoked, expired): sign in again. */
export class SignedOutError extends GateError {
  constructor() {
    super("signed_out", "Your GitHub sign-in has ended. Sign in again.", { status: 401 });
  }
}

async function asUser(apiUrl: string, token: string, path: string): Promise<Response> {
  const response = await fetch(`${apiUrl.replace(/\/$/, "")}${path}`, {
    headers: {
      accept: "application/vnd.github+json",
      authorization: `Bearer ${token}`,
      "x-github-api-version": "2022-11-28",
      "user-agent": "agent-gate",
    },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status === 401) throw new SignedOutError();
  return response;
}

function unavailable(what: string, status: number): GateError {
  return new GateError(
    "github_unavailable",
    `GitHub did not answer ${what} (HTTP ${status}); nothing was changed. Try again.`,
    { status: 503 },
  );
}

/** GET /user with the user's token: who signed in. */
export async function signedInUser(
  apiUrl: string,
  token: string,
): Promise<{ login: string; id: number; type: string }> {
  const response = await asUser(apiUrl, token, "/user");
  if (!response.ok) throw unavailable("who you are", response.status);
  const body = (await response.json()) as { login?: unknown; id?: unknown; type?: unknown };
  if (typeof body.login !== "string" || typeof body.id !== "number") throw unavailable("who you are", response.status);
  return { login: body.login, id: body.id, type: typeof body.type === "string" ? body.type : "User" };
}

export interface RepoAccess {
  private: boolean;
  /** What the user may do, from the `permissions` GitHub reports to the user's own token. */
  permission: Permission;
}

/**
 * GET /repos/{owner}/{repo} with the user's token: whether the user can see
 * the repository (null when GitHub answers 404 or 403, so a private
 * repository's existence is not told), and with what permission.
 */
export async function repoAccessOf(apiUrl: string, token: string, fullName: string): Promise<RepoAccess | null> {
  const [owner = "", repo = ""] = fullName.split("/");
  const response = await asUser(apiUrl, token, `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`);
  if (response.status === 404 || response.status === 403) return null;
  if (!response.ok) throw unavailable("whether you can read the repository", response.status);
  const body = (await response.json()) as { private?: unknown; permissions?: Record<string, unknown> };
  const p = body.permissions ?? {};
  const permission: Permission = p.admin
    ? "admin"
    : p.maintain
      ? "maintain"
      : p.push
        ? "write"
        : p.triage
          ? "triage"
          : p.pull
            ? "read"
            : "none";
  return { private: body.private !== false, permission };
}
