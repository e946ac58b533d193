import type { IncomingMessage } from "node:http";
import type { Database } from "../db/database.ts";
import { deniedUsesFor, type DeniedUses } from "../tokens/denied-uses.ts";
import { GateError, UnauthorizedError, UnavailableError, isGateError } from "../errors.ts";
import { isWellFormedToken, tokenSha256, TOKEN_PREFIX } from "../tokens/format.ts";
import { oidcVerifierFor } from "./oidc.ts";
import type { Settings } from "../config/settings.ts";

/** Who is calling the API, and what they may touch. */
export interface Principal {
  kind: "token" | "oidc";
  installationId: number;
  admin: boolean;
  /** null = any live repository of the installation */
  repos: string[] | null;
  kinds: string[] | null;
  /** "token:agt_abcd" or the OIDC actor */
  actor: string;
  /**
   * Who proposes, as redemption checks it: a token's lineage (`token-lineage:<id>`, shared by its
   * rotation successors), or a workflow's OIDC identity (`oidc:<repository>:<workflow ref>`).
   */
  identity: string;
  tokenPrefix?: string;
  /** The agent token's name, shown as the proposer. */
  tokenName?: string;
  oidc?: { repository: string; actor: string; triggering_actor: string; ref: string; sha: string; run_id: string };
}

export interface AuthDeps {
  db: Database;
  now: () => Date;
  /** OIDC is on when the settings name an audience. */
  settings: Pick<Settings, "oidc">;
  /** Where denied uses of known tokens are gathered (one per process, flushed by a timer). */
  deniedUses?: DeniedUses;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Authenticate the bearer of a request: an agent token or a GitHub Actions
 * OIDC token. Every failure that is the caller's (absent, malformed, bad
 * checksum, unknown, revoked, expired, uninstalled) is the same 401; a
 * storage or issuer failure is a 503. Nothing passes by failure.
 */
export async function authenticate(deps: AuthDeps, req: IncomingMessage): Promise<Principal> {
  const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? "");
  const bearer = match?.[1];
  if (!bearer) throw new UnauthorizedError();
  return guardStorage(async () => {
    if (bearer.startsWith(TOKEN_PREFIX)) return tokenPrincipal(deps, bearer);
    if (JWT_SHAPE.test(bearer)) return oidcPrincipal(deps, bearer);
    throw new UnauthorizedError();
  });
}

/** Authenticate and require an admin token. */
export async function requireAdmin(deps: AuthDeps, req: IncomingMessage): Promise<Principal> {
  const principal = await authenticate(deps, req);
  if (!principal.admin) throw new GateError("forbidden", "This request needs an admin agent token.", { status: 403 });
  return principal;
}

interface TokenLookup {
  installation_id: number;
  prefix: string;
  sha256: string;
  repos: string[] | null;
  kinds: string[] | null;
  admin: boolean;
  name: string;
  lineage: number;
  expires_at: Date | null;
  revoked_at: Date | null;
  live: boolean;
}

async function tokenPrincipal(deps: AuthDeps, token: string): Promise<Principal> {
  if (!isWellFormedToken(token)) throw new UnauthorizedError();
  const [row] = await deps.db.query<TokenLookup & Record<string, unknown>>(
    `SELECT t.installation_id, t.prefix, t.sha256, t.repos, t.kinds, t.admin, t.name, t.lineage, t.expires_at, t.revoked_at,
            (i.id IS NOT NULL AND i.deleted_at IS NULL AND i.suspended_at IS NULL) AS live
       FROM agent_tokens t LEFT JOIN installations i ON i.id = t.installation_id
      WHERE t.sha256 = $1`,
    [tokenSha256(token)],
  );
  if (!row) throw new UnauthorizedError();
  const now = deps.now();
  const denied = row.revoked_at
    ? "revoked"
    : row.expires_at && row.expires_at.getTime() <= now.getTime()
      ? "expired"
      : !row.live
        ? "uninstalled"
        : null;
  if (denied) {
    // No database write here: the refusal costs what an unknown token costs,
    // and the use is written later, gathered per token per interval.
    (deps.deniedUses ?? deniedUsesFor(deps.db, deps.now)).note({
      installationId: row.installation_id,
      prefix: row.prefix,
      sha256: row.sha256,
      reason: denied,
    });
    throw new UnauthorizedError();
  }
  return {
    kind: "token",
    installationId: row.installation_id,
    admin: row.admin,
    repos: row.repos,
    kinds: row.kinds,
    actor: `token:${row.prefix}`,
    identity: `token-lineage:${row.lineage}`,
    tokenPrefix: row.prefix,
    tokenName: row.name,
  };
}

async function oidcPrincipal(deps: AuthDeps, jwt: string): Promise<Principal> {
  const verifier = oidcVerifierFor(deps.settings.oidc);
  if (!verifier) throw new UnauthorizedError();
  const claims = await verifier.verify(jwt, deps.now());
  const [repo] = await deps.db.query<{ installation_id: number; full_name: string }>(
    `SELECT r.installation_id, r.full_name
       FROM installation_repositories r JOIN installations i ON i.id = r.installation_id
      WHERE lower(r.full_name) = lower($1) AND r.removed_at IS NULL
        AND i.deleted_at IS NULL AND i.suspended_at IS NULL
        AND ($2::bigint IS NULL OR r.repo_id = $2::bigint)
      ORDER BY r.installation_id LIMIT 1`,
    [claims.repository, claims.repository_id],
  );
  if (!repo) throw new UnauthorizedError();
  return {
    kind: "oidc",
    installationId: repo.installation_id,
    admin: false,
    repos: [repo.full_name],
    kinds: null,
    actor: claims.actor,
    // The same workflow of the same repository (without a workflow ref: the same run).
    identity: `oidc:${repo.full_name.toLowerCase()}:${claims.workflow_ref ?? `run:${claims.run_id}`}`,
    oidc: {
      repository: repo.full_name,
      actor: claims.actor,
      triggering_actor: claims.triggering_actor,
      ref: claims.ref,
      sha: claims.sha,
      run_id: claims.run_id,
    },
  };
}

/** Any failure that is not a decided answer becomes 503: the gate stays closed. */
export async function guardStorage<T>(
  fn: () => Promise<T>,
  message = "Authentication could not be checked; try again.",
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isGateError(error)) throw error;
    throw new UnavailableError(message, error);
  }
}

/** A storage failure while serving a request is a 503 saying nothing was changed; the gate stays closed. */
export function stored<T>(fn: () => Promise<T>): Promise<T> {
  return guardStorage(fn, "Storage is unavailable; nothing was changed. Try again.");
}

/** A live repository of the principal's installation and scope, or the same 404 as one that does not exist. */
export async function resolveRepo(
  deps: AuthDeps,
  principal: Principal,
  repo: string,
): Promise<{ repo_id: number; full_name: string }> {
  const notFound = new GateError("not_found", `Repository ${repo} was not found.`, { status: 404 });
  if (principal.repos && !principal.repos.some((name) => name.toLowerCase() === repo.toLowerCase())) throw notFound;
  const [row] = await guardStorage(() =>
    deps.db.query<{ repo_id: number; full_name: string }>(
      `SELECT r.repo_id, r.full_name
         FROM installation_repositories r JOIN installations i ON i.id = r.installation_id
        WHERE r.installation_id = $1 AND lower(r.full_name) = lower($2) AND r.removed_at IS NULL
          AND i.deleted_at IS NULL AND i.suspended_at IS NULL`,
      [principal.installationId, repo],
    ),
  );
  if (!row) throw notFound;
  return row;
}

/**
 * Whether a proposal is within the principal's scope: its installation, and
 * the repositories and kinds the key is limited to. Reads, waits and
 * redemptions answer a proposal out of scope with the same 404 as none.
 */
export function inScope(
  principal: Principal,
  proposal: { installation_id: number; repo: string; kind: string },
): boolean {
  return (
    proposal.installation_id === principal.installationId &&
    (!principal.repos || principal.repos.some((repo) => repo.toLowerCase() === proposal.repo.toLowerCase())) &&
    (!principal.kinds || principal.kinds.includes(proposal.kind))
  );
}

/** A kind outside the token's kinds is refused with 403. */
export function assertKind(principal: Principal, kind: string): void {
  if (principal.kinds && !principal.kinds.includes(kind)) {
    throw new GateError("forbidden_kind", `This token may not submit ${kind} proposals.`, { status: 403 });
  }
}
