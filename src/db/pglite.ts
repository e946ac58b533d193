import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite, types } from "@electric-sql/pglite";
import { SERVICE_ROLE, toSafeNumber, type Database, type Queryable, type Row } from "./database.ts";
import { enterTenant, guardTenantQueries, tenantCommitCheck } from "./tenant.ts";
import { guardSessionQueries } from "./session-guard.ts";
import { guardSocketMessage } from "./socket-guard.ts";
import { closeToOthers } from "./data-dir.ts";

/**
 * A migrated data directory made at build time (scripts/build-dist.mjs), beside the compiled code; the
 * sources (tsx) use the build's too when there is one. Migrations newer than it still run after it loads.
 */
const TEMPLATE = [
  new URL("./pglite-template.tar.gz", import.meta.url),
  new URL("../../dist/db/pglite-template.tar.gz", import.meta.url),
]
  .map((url) => fileURLToPath(url))
  .find((path) => existsSync(path));

export interface PgliteOptions {
  /** A directory to keep the data in; omitted means in memory. */
  dataDir?: string;
  /** A data dir dump (from `dumpDataDir`) to start from, for fast test databases. */
  loadDataDir?: Blob | File;
  /** A fresh data dir starts from the build's migrated template when there is one (default true). */
  template?: boolean;
  /**
   * PostgreSQL's shared_buffers, when not the data dir's own (128MB). A one-shot command reads a few pages: 16MB
   * starts in half the time, since PGlite sets aside and clears the whole buffer pool at start.
   */
  sharedBuffers?: `${number}MB`;
}

export interface PgliteDatabase extends Database {
  pglite: PGlite;
  /** Serve this database to other processes on a unix socket (PostgreSQL's wire protocol); resolves to a stop function. */
  serveSocket(path: string, maxConnections: number): Promise<() => Promise<void>>;
  /**
   * The same database as the app's login: from here on the session acts as agent_gate_service, and every
   * statement of the returned handle and of its socket's clients is checked (session-guard.ts) so none
   * can act as the owner again. This handle, the owner's, then runs each statement in a transaction that
   * returns to the owner for its length: only the code that holds it (migrations, tests) can.
   */
  asService(): Promise<PgliteDatabase>;
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
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    if (!loadDataDir && options.template !== false && !pgliteDataExists(options.dataDir) && TEMPLATE) {
      loadDataDir = new Blob([readFileSync(TEMPLATE)]);
    }
  } else if (!loadDataDir && options.template !== false && TEMPLATE) {
    loadDataDir = new Blob([readFileSync(TEMPLATE)]);
  }
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    ...(options.sharedBuffers
      ? { startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${options.sharedBuffers}`] }
      : {}),
    parsers: { [types.INT8]: (value: string) => toSafeNumber(value) },
  });
  // Unpacking a data dir chmods its files to the archive's modes, past the umask: close them to others again.
  if (options.dataDir) closeToOthers(options.dataDir);
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
  /** Set once the session acts as the service role: the owner's handle then re-enters the owner per transaction. */
  let serving = false;

  function make(guarded: boolean): PgliteDatabase {
    const asOwner = !guarded;
    const open = (raw: Pick<PGlite, "query" | "exec">): Queryable =>
      guarded ? guardSessionQueries(wrap(raw)) : wrap(raw);
    async function transaction<T>(fn: (tx: Queryable) => Promise<T>, installationId?: number): Promise<T> {
      return turn.run(() =>
        pglite.transaction(async (raw) => {
          if (asOwner && serving) await raw.exec("SET LOCAL ROLE NONE");
          const tx = open(raw);
          if (installationId === undefined) return fn(tx);
          await enterTenant(tx, installationId);
          const value = await fn(guardTenantQueries(tx));
          await tx.query(tenantCommitCheck(installationId));
          return value;
        }),
      );
    }
    const direct = open(pglite);
    const outside = {
      query: <T extends Row>(sql: string, params?: readonly unknown[]) =>
        asOwner && serving
          ? transaction((tx) => tx.query<T>(sql, params))
          : turn.run(() => direct.query<T>(sql, params)),
      exec: (sql: string) =>
        asOwner && serving ? transaction((tx) => tx.exec(sql)) : turn.run(() => direct.exec(sql)),
    };
    return {
      kind: "pglite",
      pglite,
      serveSocket: (path, maxConnections) => serveSocket(path, maxConnections, guarded),
      async asService() {
        if (!serving) {
          await turn.run(() => pglite.exec(`SET ROLE ${SERVICE_ROLE}`));
          serving = true;
        }
        return make(true);
      },
      query: outside.query,
      exec: outside.exec,
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

  async function serveSocket(path: string, maxConnections: number, guarded: boolean): Promise<() => Promise<void>> {
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
      execProtocolRawStream: (message: Uint8Array, options: Parameters<PGlite["execProtocolRawStream"]>[1]) =>
        pglite.execProtocolRawStream(guarded ? guardSocketMessage(message) : message, options),
      exec: (sql: string) => socketTurn(() => pglite.exec(sql)),
      runExclusive: <T>(fn: () => Promise<T>) => socketTurn(() => pglite.runExclusive(fn)),
    };
    rmSync(path, { force: true }); // a socket left by a process that died (its lock is ours now)
    // The socket server calls only these members of PGlite; the guarded stand-in implements them and no others.
    const server = new PGLiteSocketServer({ db: served as unknown as PGlite, path, maxConnections });
    await server.start();
    return async () => {
      await server.stop();
      rmSync(path, { force: true });
    };
  }

  return make(false);
}
