import { createHash } from "node:crypto";
import pg from "pg";
import { toSafeNumber, type Database, type Queryable, type Row } from "./database.ts";
import { enterTenantSql, guardTenantQueries, tenantCommitCheck } from "./tenant.ts";

const INT8 = 20;

const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8) return toSafeNumber;
    return pg.types.getTypeParser(oid, format as "text");
  },
};

/** Statements kept prepared per connection; past this many distinct texts, the rest run unnamed. */
const MAX_PREPARED = 512;
const statementNames = new Map<string, string>();

/**
 * A name for a parameterised statement, so each pooled connection parses and
 * plans it once (PostgreSQL re-plans by itself when a table it reads changes,
 * and checks row level security at each execution).
 */
function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_PREPARED) {
    name = `ag_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function wrap(client: { query: pg.Pool["query"] | pg.PoolClient["query"] }, prepare: boolean): Queryable {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const name = prepare && params.length > 0 ? statementName(sql) : undefined;
      const config: pg.QueryConfig = name
        ? { name, text: sql, values: params as unknown[] }
        : { text: sql, values: params as unknown[] };
      const result = await (client.query as (config: pg.QueryConfig) => Promise<pg.QueryResult>)(config);
      return result.rows as T[];
    },
    async exec(sql: string) {
      await (client.query as pg.Pool["query"])(sql);
    },
  };
}

export interface PgOptions {
  /** A PostgreSQL URL; or `host` (a unix socket's directory) and `port`. */
  connectionString?: string;
  host?: string;
  port?: number;
  max?: number;
  /**
   * Keep statements prepared per connection (default true). Off for the embedded database's socket: the
   * app and every CLI command share PGlite's one session there, so one's named statement would be
   * "already exists" to another.
   */
  prepare?: boolean;
}

function connectionOf(options: PgOptions): pg.ClientConfig {
  if (options.connectionString) return { connectionString: options.connectionString };
  return { host: options.host, port: options.port, user: "postgres", database: "postgres" };
}

/** PostgreSQL through a `pg` pool; one client per transaction. */
export function openPg(options: PgOptions): Database {
  const pool = new pg.Pool({
    ...connectionOf(options),
    max: options.max ?? 10,
    types,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server must not crash the process.
  pool.on("error", () => {});
  const prepare = options.prepare ?? true;
  const direct = wrap(pool, prepare);

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, installationId?: number): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    // A checked-out client has no pool listener: a server that goes away
    // between two queries of the transaction must fail it, not the process.
    const onError = () => {
      broken = true;
    };
    client.on("error", onError);
    try {
      const tx = installationId === undefined ? wrap(client, prepare) : guardTenantQueries(wrap(client, prepare));
      // A tenant transaction begins and enters its tenant in one round trip,
      // and checks its role and tenant in the round trip that commits.
      await client.query(installationId === undefined ? "BEGIN" : `BEGIN; ${enterTenantSql(installationId)}`);
      const value = await fn(tx);
      await client.query(installationId === undefined ? "COMMIT" : `${tenantCommitCheck(installationId)}; COMMIT`);
      return value;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  return {
    kind: "pg",
    query: direct.query,
    exec: direct.exec,
    transaction: (fn) => transaction(fn),
    tenant: (installationId, fn) => transaction(fn, installationId),
    listen: (channel, onPayload, onResubscribed) =>
      listenWithReconnect(connectionOf(options), channel, onPayload, onResubscribed),
    async close() {
      await pool.end();
    },
  };
}

const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** Ending a LISTEN connection that failed or is no longer wanted can fail too; it is said, not hidden. */
function warnListenEnd(error: unknown): void {
  process.emitWarning(`ending a LISTEN connection failed: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * LISTEN on a connection of its own. When the server goes away (a restart, a
 * failover) it connects again with backoff and says so through
 * `onResubscribed`, because notifications sent in between are lost.
 */
async function listenWithReconnect(
  connection: pg.ClientConfig,
  channel: string,
  onPayload: (payload: string) => void,
  onResubscribed?: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let current: pg.Client | undefined;
  let delay = RECONNECT_FIRST_MS;
  const connect = async () => {
    const client = new pg.Client(connection);
    client.on("error", () => {});
    client.on("notification", (message) => {
      if (message.channel === channel) onPayload(message.payload ?? "");
    });
    client.once("end", () => {
      if (!stopped && current === client) again();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      // The connection failed; its own error is the one thrown. An error while ending it adds nothing.
      await client.end().catch((endError: unknown) => warnListenEnd(endError));
      throw error;
    }
    current = client;
  };
  const again = () => {
    current = undefined;
    const timer = setTimeout(() => {
      if (stopped) return;
      connect().then(
        () => {
          delay = RECONNECT_FIRST_MS;
          if (stopped) void current?.end().catch((error: unknown) => warnListenEnd(error));
          else onResubscribed?.();
        },
        () => {
          delay = Math.min(delay * 2, RECONNECT_MAX_MS);
          again();
        },
      );
    }, delay);
    timer.unref();
  };
  await connect();
  return async () => {
    stopped = true;
    await current?.end().catch((error: unknown) => warnListenEnd(error));
  };
}
