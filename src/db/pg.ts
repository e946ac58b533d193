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
      client.release(broken);
    }
  }

  return {
    kind: "pg",
    query: direct.query,
    exec: direct.exec,
    transaction: (fn) => transaction(fn),
    tenant: (installationId, fn) => transaction(fn, installationId),
    async listen(channel, onPayload) {
      const client = new pg.Client({ connectionString: options.connectionString });
      client.on("error", () => {});
      await client.connect();
      client.on("notification", (message) => {
        if (message.channel === channel) onPayload(message.payload ?? "");
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => {
        await client.end().catch(() => {});
      };
    },
    async close() {
      await pool.end();
    },
  };
}
