import { APP_ROLE, type Queryable, type Row } from "./database.ts";
import { strip, TenantStatementRefused } from "./tenant.ts";

/*
 * The embedded database has one session, and PGlite authenticates it as its
 * superuser: whatever reaches that session could `SET ROLE` back to the owner.
 * Once migrations have run the session acts as agent_gate_service (the role
 * the app logs in as on PostgreSQL), and every statement the app itself or a
 * client of its socket sends is checked here first: nothing that changes the
 * role, the session or a setting, nor runs code of its own, is sent.
 * The two settings the app's own statements make are allowed, written
 * exactly as the app writes them.
 */

/** Raised for a statement the embedded database's session may not run; nothing was sent to the database. */
export class SessionStatementRefused extends Error {
  constructor(readonly what: string) {
    super(
      `the embedded database's app session may not ${what} (run owner commands with the app stopped: docs/operations.md)`,
    );
    this.name = "SessionStatementRefused";
  }
}

const REFUSED_STATEMENTS = new Set([
  "set",
  "reset",
  "discard",
  "do",
  "call",
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
  "refresh",
]);

/** The settings the app's statements make, as they are written in src/db/tenant.ts and src/sites/store.ts. */
const ALLOWED_SETTINGS = [`set_config('role', '${APP_ROLE}', true)`, "set_config('agent_gate.site_sweep', 'on', true)"];

const REFUSED_CALLS = /\b(set_config|dblink\w*|pg_read\w*|pg_ls_\w*|lo_\w+)\s*\(/;

/** Throws SessionStatementRefused when the embedded database's app session may not send this text. */
export function checkSessionStatement(sql: string): void {
  let text: string;
  try {
    text = strip(
      ALLOWED_SETTINGS.reduce((rest, allowed) => rest.split(allowed).join("agent_gate_allowed_setting()"), sql),
    );
  } catch (error) {
    throw new SessionStatementRefused(
      error instanceof TenantStatementRefused
        ? error.message.replace(/^a tenant transaction may not /, "")
        : "send this text",
    );
  }
  for (const statement of text.split(";")) {
    const first = /^\s*\(*\s*([a-z_]+)/.exec(statement)?.[1];
    if (first && REFUSED_STATEMENTS.has(first)) throw new SessionStatementRefused(`run ${first.toUpperCase()}`);
    const call = REFUSED_CALLS.exec(statement)?.[1];
    if (call) throw new SessionStatementRefused(`call ${call}`);
    if (/\b(set|reset)\s+(local\s+|session\s+)?(role|session\s+authorization)\b/.test(statement)) {
      throw new SessionStatementRefused("change its role");
    }
  }
}

/** A Queryable whose statements are checked first; scripts (migrations) are the owner's. */
export function guardSessionQueries(tx: Queryable): Queryable {
  return {
    query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      try {
        checkSessionStatement(sql);
      } catch (error) {
        return Promise.reject(error);
      }
      return tx.query<T>(sql, params);
    },
    exec(sql: string): Promise<void> {
      try {
        checkSessionStatement(sql);
      } catch (error) {
        return Promise.reject(error);
      }
      return tx.exec(sql);
    },
  };
}
