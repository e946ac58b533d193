import { APP_ROLE, type Queryable, type Row } from "./database.ts";

/*
 * How a transaction gets its tenant (the pattern every tenant table follows):
 *
 * - The tenant is a row in `tenant_bindings` (migration 080), keyed by backend
 *   pid and top-level transaction id. Only the owner can write it, through
 *   `agent_gate_enter_tenant(id)` (SECURITY DEFINER, executable by the app's
 *   login, agent_gate_service, not by the app role), which refuses a second, different id in the same transaction.
 *   Policies read it through `agent_gate_tenant()`; no setting is involved, so
 *   SET, set_config() or RESET of any setting changes nothing.
 * - A table holding installation data is ENABLE + FORCE ROW LEVEL SECURITY with
 *   `<table>_tenant` USING/WITH CHECK (installation_id = (SELECT agent_gate_tenant())).
 *   If background work reads it across installations, add
 *   `<table>_owner` USING (current_user <> 'agent_gate_app'), grant the table to
 *   agent_gate_service (the app's login, migration 160) and do that work
 *   outside a tenant (`db.transaction` / `db.query`), never inside `db.tenant`.
 *   test/integration/tenant-isolation.test.ts fails for a table with an
 *   installation_id and no FORCE'd row level security, or granted nothing to
 *   agent_gate_service.
 * - A session can always RESET ROLE back to its login, which no SQL can
 *   forbid; so the statements of a tenant transaction go through
 *   `guardTenantQueries`, which refuses those that change role, settings or
 *   transaction state, and `tenantCommitCheck` rolls the transaction back if
 *   it no longer runs as the app role in its tenant when it ends.
 */

function checkInstallationId(installationId: number): void {
  if (!Number.isSafeInteger(installationId) || installationId < 0) {
    throw new RangeError("installation id must be a non-negative integer");
  }
}

/** Enter the app role and the tenant for the rest of the current transaction only. */
export async function enterTenant(tx: Queryable, installationId: number): Promise<void> {
  await tx.query(enterTenantSql(installationId));
}

/**
 * The same as one parameterless statement, to send with BEGIN: the role name
 * is a constant and the id is checked to be an integer first. The binding is
 * made while still the owner; `set_config('role', …, true)` is SET LOCAL ROLE.
 */
export function enterTenantSql(installationId: number): string {
  checkInstallationId(installationId);
  return `SELECT agent_gate_enter_tenant(${installationId}), set_config('role', '${APP_ROLE}', true)`;
}

/** A statement to run last in a tenant transaction; it raises (and so rolls back) if the role or tenant changed. */
export function tenantCommitCheck(installationId: number): string {
  checkInstallationId(installationId);
  return `SELECT agent_gate_check_tenant(${installationId})`;
}

/** Raised for a statement a tenant transaction may not run; nothing was sent to the database. */
export class TenantStatementRefused extends Error {
  constructor(what: string) {
    super(`a tenant transaction may not ${what}`);
    this.name = "TenantStatementRefused";
  }
}

/** Statements that change role, settings, session or transaction state, or run code of their own. */
const REFUSED_STATEMENTS = new Set([
  "set",
  "reset",
  "discard",
  "do",
  "call",
  "savepoint",
  "rollback",
  "release",
  "commit",
  "begin",
  "start",
  "end",
  "abort",
  "prepare",
  "execute",
  "deallocate",
  "load",
  "create",
  "alter",
  "drop",
  "grant",
  "revoke",
  "copy",
  "listen",
  "unlisten",
  "lock",
  "security",
  "import",
  "reassign",
  "truncate",
  "vacuum",
  "analyze",
  "cluster",
  "reindex",
  "checkpoint",
  "comment",
]);

/** Functions that change settings or the role from inside an ordinary query. */
const REFUSED_CALLS = /\b(set_config|dblink\w*)\s*\(/;

/**
 * Removes comments, string literals and quoted identifiers' quotes so that
 * keywords can be looked for; a dollar-quoted body is refused outright, as it
 * can only serve code the app does not send.
 */
export function strip(sql: string): string {
  let out = "";
  for (let i = 0; i < sql.length;) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end;
      out += " ";
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) throw new TenantStatementRefused("send an unterminated comment");
      i = end + 2;
      out += " ";
    } else if (c === "'") {
      // E'…' strings take backslash escapes; standard strings only ''.
      const escapes = /[eE]/.test(sql[i - 1] ?? "") && !/[\w$]/.test(sql[i - 2] ?? "");
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new TenantStatementRefused("send an unterminated string");
        if (escapes && sql[j] === "\\") j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j += 1;
      }
      i = j + 1;
      out += " '' ";
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      if (end < 0) throw new TenantStatementRefused("send an unterminated identifier");
      out += sql.slice(i + 1, end);
      i = end + 1;
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(sql.slice(i)) && !/[\w$]/.test(sql[i - 1] ?? "")) {
      throw new TenantStatementRefused("send dollar-quoted text");
    } else {
      out += c;
      i += 1;
    }
  }
  return out.toLowerCase();
}

/** Throws TenantStatementRefused if a tenant transaction may not send this text. */
export function checkTenantStatement(sql: string): void {
  const text = strip(sql);
  for (const statement of text.split(";")) {
    const first = /^\s*\(*\s*([a-z_]+)/.exec(statement)?.[1];
    if (first && REFUSED_STATEMENTS.has(first)) throw new TenantStatementRefused(`run ${first.toUpperCase()}`);
    const call = REFUSED_CALLS.exec(statement)?.[1];
    if (call) throw new TenantStatementRefused(`call ${call.replace(/\s+/g, "")}`);
    // Data-modifying or SELECT statements may still carry SET in UPDATE … SET;
    // what must never appear is a role or session authorization change.
    if (/\b(set|reset)\s+(local\s+|session\s+)?(role|session\s+authorization)\b/.test(statement)) {
      throw new TenantStatementRefused("change its role");
    }
  }
}

/** The Queryable handed to a tenant transaction's function: every statement is checked first. */
export function guardTenantQueries(tx: Queryable): Queryable {
  return {
    query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      try {
        checkTenantStatement(sql);
      } catch (error) {
        return Promise.reject(error);
      }
      return tx.query<T>(sql, params);
    },
    exec(): Promise<void> {
      return Promise.reject(new TenantStatementRefused("run a script"));
    },
  };
}
