import type { Database, Queryable } from "../db/database.ts";
import { enterTenant } from "../db/tenant.ts";
import { appendAudit } from "../audit/log.ts";
import { GateError, NotFoundError, ValidationError } from "../errors.ts";
import {
  displayPrefix,
  generateToken,
  hashedToken,
  hashedTokenFromSha256,
  tokenNameProblem,
  tokenSha256,
} from "./format.ts";

export interface TokenScope {
  installationId: number;
  repos: string[] | null;
  kinds: string[] | null;
  admin: boolean;
  expiresAt: Date | null;
  createdBy: string;
  /** Shown as the proposer; default: the token's display prefix. */
  name?: string;
}

export interface TokenRow {
  id: number;
  installation_id: number;
  prefix: string;
  repos: string[] | null;
  kinds: string[] | null;
  admin: boolean;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_by: string;
  name: string;
}

export type TokenState = "active" | "expired" | "revoked";

export function tokenState(row: Pick<TokenRow, "expires_at" | "revoked_at">, now: Date): TokenState {
  if (row.revoked_at) return "revoked";
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return "expired";
  return "active";
}

const COLUMNS =
  "id, installation_id, prefix, repos, kinds, admin, created_at, expires_at, revoked_at, created_by, name";

/** Create a token and record it; the plain token is returned once and stored nowhere. */
export async function createToken(
  db: Database,
  scope: TokenScope,
  now: Date,
): Promise<{ token: string; row: TokenRow }> {
  const token = generateToken();
  const name = scope.name ?? displayPrefix(token);
  const problem = tokenNameProblem(name);
  if (problem) throw new ValidationError([{ field: "name", message: problem }]);
  const row = await db.transaction(async (tx) => {
    const [installation] = await tx.query("SELECT 1 FROM installations WHERE id = $1 AND deleted_at IS NULL", [
      scope.installationId,
    ]);
    if (!installation) {
      throw new GateError(
        "unknown_installation",
        `Installation ${scope.installationId} is not known to this app (or was uninstalled). It is recorded when GitHub delivers its installation webhook: install the app, or redeliver that webhook, then try again.`,
        { status: 404 },
      );
    }
    const inserted = await insertToken(tx, token, { ...scope, name }, now);
    await enterTenant(tx, scope.installationId);
    await appendAudit(
      tx,
      scope.installationId,
      {
        action: "token.created",
        outcome: "ok",
        actor: scope.createdBy,
        subject: inserted.prefix,
        data: {
          hashed_token: hashedToken(token),
          prefix: inserted.prefix,
          name,
          repos: scope.repos,
          kinds: scope.kinds,
          admin: scope.admin,
          expires_at: scope.expiresAt?.toISOString() ?? null,
        },
      },
      now,
    );
    return inserted;
  });
  return { token, row };
}

/** A new token row; `lineage` is the replaced token's on a rotation, else the new token starts its own. */
async function insertToken(
  tx: Queryable,
  token: string,
  scope: TokenScope & { name: string; lineage?: number },
  now: Date,
): Promise<TokenRow> {
  const [inserted] = await tx.query<TokenRow & Record<string, unknown>>(
    `WITH next AS (SELECT nextval('agent_tokens_id_seq') AS id)
     INSERT INTO agent_tokens (id, installation_id, sha256, prefix, repos, kinds, admin, created_at, expires_at, created_by, name, lineage)
     SELECT next.id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::bigint, next.id) FROM next RETURNING ${COLUMNS}`,
    [
      scope.installationId,
      tokenSha256(token),
      displayPrefix(token),
      scope.repos,
      scope.kinds,
      scope.admin,
      now,
      scope.expiresAt,
      scope.createdBy,
      scope.name,
      scope.lineage ?? null,
    ],
  );
  if (!inserted) throw new Error("token row was not written");
  return inserted;
}

export async function listTokens(db: Queryable, installationId?: number): Promise<TokenRow[]> {
  return db.query<TokenRow & Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM agent_tokens WHERE ($1::bigint IS NULL OR installation_id = $1) ORDER BY id`,
    [installationId ?? null],
  );
}

/** Revoke the one live token with this display prefix; effective on the next request. */
export async function revokeToken(db: Database, prefix: string, actor: string, now: Date): Promise<TokenRow> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<TokenRow & { sha256: string; lineage: number } & Record<string, unknown>>(
      `SELECT ${COLUMNS}, sha256 FROM agent_tokens WHERE prefix = $1 AND revoked_at IS NULL FOR UPDATE`,
      [prefix],
    );
    if (rows.length === 0) throw new NotFoundError(`A live token with prefix ${prefix}`);
    if (rows.length > 1) {
      throw new GateError(
        "ambiguous_prefix",
        `${rows.length} live tokens share the prefix ${prefix}; nothing was revoked.`,
        { status: 409 },
      );
    }
    const row = rows[0] as TokenRow & { sha256: string };
    const [revoked] = await tx.query<TokenRow & Record<string, unknown>>(
      `UPDATE agent_tokens SET revoked_at = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
      [row.id, now],
    );
    await enterTenant(tx, row.installation_id);
    await appendAudit(
      tx,
      row.installation_id,
      {
        action: "token.revoked",
        outcome: "ok",
        actor,
        subject: row.prefix,
        data: { hashed_token: hashedTokenFromSha256(row.sha256), prefix: row.prefix },
      },
      now,
    );
    return revoked as TokenRow;
  });
}

/**
 * Rotate the one live token with this prefix: a new token with the same
 * installation, scope, name and expiry is issued, and the old one revoked, in
 * one transaction, so the old token fails from the next request on. With
 * `installationId`, a token of another installation is the same 404 as none.
 */
export async function rotateToken(
  db: Database,
  prefix: string,
  actor: string,
  now: Date,
  options: { installationId?: number } = {},
): Promise<{ token: string; row: TokenRow; previous: TokenRow }> {
  const token = generateToken();
  return db.transaction(async (tx) => {
    const rows = await tx.query<TokenRow & { sha256: string; lineage: number } & Record<string, unknown>>(
      `SELECT ${COLUMNS}, sha256, lineage FROM agent_tokens
        WHERE prefix = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR installation_id = $2) FOR UPDATE`,
      [prefix, options.installationId ?? null],
    );
    if (rows.length === 0) throw new NotFoundError(`A live token with prefix ${prefix}`);
    if (rows.length > 1) {
      throw new GateError(
        "ambiguous_prefix",
        `${rows.length} live tokens share the prefix ${prefix}; nothing was rotated.`,
        { status: 409 },
      );
    }
    const old = rows[0] as TokenRow & { sha256: string; lineage: number };
    if (old.expires_at && old.expires_at.getTime() <= now.getTime()) {
      throw new GateError(
        "token_expired",
        `The token ${prefix} has expired; create a new token instead of rotating it.`,
        { status: 409 },
      );
    }
    const [revoked] = await tx.query<TokenRow & Record<string, unknown>>(
      `UPDATE agent_tokens SET revoked_at = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
      [old.id, now],
    );
    const row = await insertToken(
      tx,
      token,
      {
        installationId: old.installation_id,
        repos: old.repos,
        kinds: old.kinds,
        admin: old.admin,
        expiresAt: old.expires_at,
        createdBy: actor,
        name: old.name,
        lineage: old.lineage,
      },
      now,
    );
    await enterTenant(tx, old.installation_id);
    await appendAudit(
      tx,
      old.installation_id,
      {
        action: "token.rotated",
        outcome: "ok",
        actor,
        subject: old.prefix,
        data: {
          hashed_token: hashedTokenFromSha256(old.sha256),
          prefix: old.prefix,
          new_hashed_token: hashedToken(token),
          new_prefix: row.prefix,
          name: old.name,
        },
      },
      now,
    );
    return { token, row, previous: revoked as TokenRow };
  });
}
