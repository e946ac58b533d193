/**
 * One small database interface over PostgreSQL (`pg`) and embedded PGlite.
 * Both return the same JavaScript values: int8 as number (refusing values past
 * Number.MAX_SAFE_INTEGER), timestamptz as Date, jsonb as parsed JSON.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Run a script of several statements without parameters (migrations only). */
  exec(sql: string): Promise<void>;
}

/** The plain role every tenant transaction runs as; it cannot bypass row level security. */
export const APP_ROLE = "agent_gate_app";

/**
 * The role of the app's login across installations (migration 160): the inbox, the outbox worker, the sweeps,
 * token and session look-ups. It owns nothing and may enter a tenant; the schema belongs to the migrating login.
 */
export const SERVICE_ROLE = "agent_gate_service";

export interface Database extends Queryable {
  readonly kind: "pg" | "pglite";
  /**
   * A transaction as the login itself: cross-tenant work as the app's login (agent_gate_service), or, on the
   * owner's handle, migrations and the admin commands that need the owner.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * A transaction as the plain app role, bound to one installation by
   * `agent_gate_enter_tenant` (src/db/tenant.ts): the binding and the role end
   * with the transaction, so a pooled connection carries no tenant to its
   * next user, and the transaction's own statements cannot change either.
   */
  tenant<T>(installationId: number, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribe to NOTIFY on a channel; resolves once listening. After a lost
   * connection is re-established `onResubscribed` is called: notifications
   * sent in between are lost, so the caller re-reads what it waits for.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onResubscribed?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export function toSafeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} is beyond what this app represents exactly`);
  }
  return value;
}
