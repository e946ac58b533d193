import type { Database } from "./database.ts";

/** What the app's own login may do to the schema it works in. */
export interface LoginFacts {
  name: string;
  superuser: boolean;
  bypassrls: boolean;
  /** It owns the audit log's table, or is a member of its owner: it could switch off its protections. */
  ownsSchema: boolean;
}

export async function readLogin(db: Database): Promise<LoginFacts> {
  const [row] = await db.query<{ name: string; superuser: boolean; bypassrls: boolean; owns: boolean | null }>(
    `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
            (SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('public.audit_events')) AS owns
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (!row) throw new Error("the database login could not be read from pg_roles");
  return { name: row.name, superuser: row.superuser, bypassrls: row.bypassrls, ownsSchema: row.owns === true };
}

/** Why this login could cut or rewrite the audit log, or null when it is the app's login alone. */
export function ownerLoginProblem(login: LoginFacts): string | null {
  const powers = [
    ...(login.superuser ? ["is a superuser"] : []),
    ...(login.ownsSchema ? ["owns the schema"] : []),
    ...(login.bypassrls ? ["has BYPASSRLS"] : []),
  ];
  if (powers.length === 0) return null;
  return (
    `the database login of DATABASE_URL (${login.name}) ${powers.length > 1 ? `${powers.slice(0, -1).join(", ")} and ${powers.at(-1)}` : powers[0]}: it can switch off the audit log's ` +
    "append-only trigger and rewrite the chain, and row level security does not bind it"
  );
}

/** What to do about it. */
export const TWO_LOGINS_FIX =
  "Give the app a login that holds only agent_gate_service in DATABASE_URL and run migrations with the owner's " +
  'login in AGENT_GATE_MIGRATION_DATABASE_URL (the SQL is in docs/operations.md, "Two database logins").';
