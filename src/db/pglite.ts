import { mkdirSync } from "node:fs";
import { PGlite, types } from "@electric-sql/pglite";
import { toSafeNumber, type Database, type Queryable, type Row } from "./database.ts";
import { enterTenant, guardTenantQueries, tenantCommitCheck } from "./tenant.ts";

export interface PgliteOptions {
  /** A directory to keep the data in; omitted means in memory. */
  dataDir?: string;
  /** A data dir dump (from `dumpDataDir`) to start from, for fast test databases. */
  loadDataDir?: Blob | File;
}

/** Embedded PGlite: one session, so transactions are serialised by PGlite itself. */
export async function openPglite(options: PgliteOptions = {}): Promise<Database & { pglite: PGlite }> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: { [types.INT8]: (value: string) => toSafeNumber(value) },
  });

  const wrap = (client: Pick<PGlite, "query" | "exec">): Queryable => ({
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql: string) {
      await client.exec(sql);
    },
  });

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, installationId?: number): Promise<T> {
    return pglite.transaction(async (raw) => {
      const tx = wrap(raw);
      if (installationId === undefined) return fn(tx);
      await enterTenant(tx, installationId);
      const value = await fn(guardTenantQueries(tx));
      await tx.query(tenantCommitCheck(installationId));
      return value;
    });
  }

  return {
    kind: "pglite",
    pglite,
    query: wrap(pglite).query,
    exec: wrap(pglite).exec,
    transaction: (fn) => transaction(fn),
    tenant: (installationId, fn) => transaction(fn, installationId),
    async listen(channel, onPayload) {
      const unsubscribe = await pglite.listen(channel, onPayload);
      return async () => {
        await unsubscribe();
      };
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
}
