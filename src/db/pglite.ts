import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite, types } from "@electric-sql/pglite";
import { toSafeNumber, type Database, type Queryable, type Row } from "./database.ts";
import { enterTenant, guardTenantQueries, tenantCommitCheck } from "./tenant.ts";

/**
 * A migrated data directory made at build time (scripts/build-dist.mjs), beside the compiled code; the
 * sources (tsx) use the build's too when there is one. Migrations newer than it still run after it loads.
 */
const TEMPLATE = [new URL("./pglite-template.tar.gz", import.meta.url), new URL("../../dist/db/pglite-template.tar.gz", import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((path) => existsSync(path));

export interface PgliteOptions {
  /** A directory to keep the data in; omitted means in memory. */
  dataDir?: string;
  /** A data dir dump (from `dumpDataDir`) to start from, for fast test databases. */
  loadDataDir?: Blob | File;
  /** A fresh data dir starts from the build's migrated template when there is one (default true). */
  template?: boolean;
}

export interface PgliteDatabase extends Database {
  pglite: PGlite;
  /** Serve this database to other processes on a unix socket (PostgreSQL's wire protocol); resolves to a stop function. */
  serveSocket(path: string, maxConnections: number): Promise<() => Promise<void>>;
}

/** A data dir holds a database once PostgreSQL's PG_VERSION file is in it. */
export function pgliteDataExists(dataDir: string): boolean {
  return existsSync(join(dataDir, "PG_VERSION"));
}

/**
 * One turn at a time between this process's own work and the clients served on the socket. PGlite has one
 * session: a socket client's transaction spans several messages, and nothing of ours may run inside it.
 */
class Turn {
  #tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    return previous.then(() => release);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** Embedded PGlite: one session, so transactions are serialised by PGlite itself. */
export async function openPglite(options: PgliteOptions = {}): Promise<PgliteDatabase> {
  let loadDataDir = options.loadDataDir;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    if (!loadDataDir && options.template !== false && !pgliteDataExists(options.dataDir) && TEMPLATE) {
      loadDataDir = new Blob([readFileSync(TEMPLATE)]);
    }
  } else if (!loadDataDir && options.template !== false && TEMPLATE) {
    loadDataDir = new Blob([readFileSync(TEMPLATE)]);
  }
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    parsers: { [types.INT8]: (value: string) => toSafeNumber(value) },
  });
  const turn = new Turn();

  const wrap = (client: Pick<PGlite, "query" | "exec">): Queryable => ({
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql: string) {
      await client.exec(sql);
    },
  });
  const direct = wrap(pglite);

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, installationId?: number): Promise<T> {
    return turn.run(() =>
      pglite.transaction(async (raw) => {
        const tx = wrap(raw);
        if (installationId === undefined) return fn(tx);
        await enterTenant(tx, installationId);
        const value = await fn(guardTenantQueries(tx));
        await tx.query(tenantCommitCheck(installationId));
        return value;
      }),
    );
  }

  async function serveSocket(path: string, maxConnections: number): Promise<() => Promise<void>> {
    const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
    // A socket client keeps the turn from its BEGIN to its COMMIT or ROLLBACK (or its disconnect, which rolls back).
    let held: (() => void) | null = null;
    const socketTurn = async <T>(fn: () => Promise<T>): Promise<T> => {
      if (!held) held = await turn.acquire();
      try {
        return await fn();
      } finally {
        if (!pglite.isInTransaction() && held) {
          const release = held;
          held = null;
          release();
        }
      }
    };
    const served = {
      waitReady: pglite.waitReady,
      isInTransaction: () => pglite.isInTransaction(),
      execProtocolRawStream: pglite.execProtocolRawStream.bind(pglite),
      exec: (sql: string) => socketTurn(() => pglite.exec(sql)),
      runExclusive: <T>(fn: () => Promise<T>) => socketTurn(() => pglite.runExclusive(fn)),
    };
    rmSync(path, { force: true }); // a socket left by a process that died (its lock is ours now)
    const server = new PGLiteSocketServer({ db: served as unknown as PGlite, path, maxConnections });
    await server.start();
    return async () => {
      await server.stop();
      rmSync(path, { force: true });
    };
  }

  return {
    kind: "pglite",
    pglite,
    serveSocket,
    query: (sql, params) => turn.run(() => direct.query(sql, params)),
    exec: (sql) => turn.run(() => direct.exec(sql)),
    transaction: (fn) => transaction(fn),
    tenant: (installationId, fn) => transaction(fn, installationId),
    async listen(channel, onPayload) {
      const unsubscribe = await turn.run(() => pglite.listen(channel, onPayload));
      return async () => {
        await turn.run(() => unsubscribe());
      };
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
}
