import pg from "pg";
import { toSafeNumber, type Database, type Queryable, type Row } from "./database.ts";
import { enterTenant } from "./tenant.ts";

const INT8 = 20;

const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8) return toSafeNumber;
    return pg.types.getTypeParser(oid, format as "text");
  },
};

function wrap(client: { query: pg.Pool["query"] | pg.PoolClient["query"] }): Queryable {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await (client.query as pg.Pool["query"])(sql, params as unknown[]);
      return result.rows as T[];
    },
    async exec(sql: string) {
      await (client.query as pg.Pool["query"])(sql);
    },
  };
}

export interface PgOptions {
  connectionString: string;
  max?: number;
}

/** PostgreSQL through a `pg` pool; one client per transaction. */
export function openPg(options: PgOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    types: types as unknown as pg.CustomTypesConfig,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server must not crash the process.
  pool.on("error", () => {});
  const direct = wrap(pool);

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
      await client.query("BEGIN");
      const tx = wrap(client);
      if (installationId !== undefined) await enterTenant(tx, installationId);
      const value = await fn(tx);
      await client.query("COMMIT");
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
    listen: (channel, onPayload, onResubscribed) => listenWithReconnect(options.connectionString, channel, onPayload, onResubscribed),
    async close() {
      await pool.end();
    },
  };
}

const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * LISTEN on a connection of its own. When the server goes away (a restart, a
 * failover) it connects again with backoff and says so through
 * `onResubscribed`, because notifications sent in between are lost.
 */
async function listenWithReconnect(
  connectionString: string,
  channel: string,
  onPayload: (payload: string) => void,
  onResubscribed?: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let current: pg.Client | undefined;
  let delay = RECONNECT_FIRST_MS;
  const connect = async () => {
    const client = new pg.Client({ connectionString });
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
      await client.end().catch(() => {});
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
          if (stopped) void current?.end().catch(() => {});
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
    await current?.end().catch(() => {});
  };
}
