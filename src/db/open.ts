import { resolve, join } from "node:path";
import type { Database } from "./database.ts";
import { GateError } from "../errors.ts";
import { takeLock } from "./lock.ts";
import { secureDataDir } from "./data-dir.ts";
import { migrate, pendingMigrations } from "./migrate.ts";
import type { StorageSettings } from "../config/settings.ts";

export type { StorageSettings } from "../config/settings.ts";

export interface OpenOptions {
  /** Create the database when it does not exist yet (`serve`, `migrate`); otherwise a missing one is refused. */
  create?: boolean;
  /**
   * The app: it owns the embedded database and serves it to the CLI on a unix socket in the data dir; a second
   * app on the same data dir is refused. Without it, a CLI command goes through a running app's socket, or
   * opens the data dir itself when no app runs.
   */
  serve?: boolean;
  /**
   * Bring the schema up to date first, as the owner: on PostgreSQL the login of AGENT_GATE_MIGRATION_DATABASE_URL
   * (DATABASE_URL's when unset), opened only when a migration is pending; on the embedded database before its
   * session becomes the app's. Called with the names applied.
   */
  migrate?: (applied: string[]) => void;
}

/** Connections the app accepts on its socket: CLI commands, each with a pool of 2. */
const SOCKET_CONNECTIONS = 8;
/** pg connects to `${dir}/.s.PGSQL.${port}`, as to a PostgreSQL server's socket. */
const SOCKET_PORT = 5432;
/** The embedded database's buffer pool for a CLI command that opens the data dir itself (the app keeps 128MB). */
const COMMAND_SHARED_BUFFERS = "16MB";

function unavailable(message: string, cause?: unknown): GateError {
  return new GateError("database_missing", message, { status: 503, ...(cause === undefined ? {} : { cause }) });
}

/** Opens the configured store, loading only its driver (the CLI starts faster for it). */
export async function openDatabase(settings: StorageSettings, options: OpenOptions = {}): Promise<Database> {
  if (settings.databaseUrl) {
    const { openPg } = await import("./pg.ts");
    const db = openPg({ connectionString: settings.databaseUrl });
    try {
      if (options.create) await requireDatabase(db, describeUrl(settings.databaseUrl));
      else await requireSchema(db, describeUrl(settings.databaseUrl));
      if (options.migrate && (await pendingMigrations(db)).length > 0) options.migrate(await migrateAsOwner(settings));
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }
  const dataDir = resolve(settings.dataDir);
  const { openPglite, pgliteDataExists } = await import("./pglite.ts");
  if (!options.create && !pgliteDataExists(dataDir)) {
    throw unavailable(
      `No embedded database in ${dataDir} (AGENT_GATE_DATA_DIR, default .agent-gate/data, from ${process.cwd()}): ` +
        "start the app there once (`npm start`) or run `agent-gate migrate` to create it, or set DATABASE_URL.",
    );
  }
  secureDataDir(dataDir, { create: options.create === true });
  const socket = join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
  const lock = takeLock(dataDir, { pid: process.pid, ...(options.serve ? { socket } : {}) });
  if (!lock.taken) {
    const { holder } = lock;
    if (options.serve || !holder.socket) {
      throw new GateError(
        "database_in_use",
        `The embedded database in ${dataDir} is in use by process ${holder.pid} (${join(dataDir, "agent-gate.lock")}); ` +
          "stop it first, or give this one its own AGENT_GATE_DATA_DIR or a DATABASE_URL.",
        { status: 503 },
      );
    }
    // The app owns it: work through the app's socket, so what this command writes is the app's data at once.
    // The socket gives the app's login only (src/db/socket-guard.ts), never the owner.
    const { openPg } = await import("./pg.ts");
    const db = openPg({ host: dataDir, port: SOCKET_PORT, max: 2, prepare: false });
    const pending = options.migrate
      ? await pendingMigrations(db).catch(async (error: unknown) => {
          await db.close();
          throw error;
        })
      : [];
    if (pending.length > 0) {
      await db.close();
      throw unavailable(
        `The app running on ${dataDir} (process ${holder.pid}) has not applied ${pending.join(", ")}: restart it, which migrates its database.`,
      );
    }
    return db;
  }
  try {
    // The app keeps the data dir's buffer pool; a command that opens the database for itself needs little of one.
    const owner = await openPglite(options.serve ? { dataDir } : { dataDir, sharedBuffers: COMMAND_SHARED_BUFFERS });
    if (options.migrate || options.create) {
      const applied = await migrate(owner);
      options.migrate?.(applied);
    }
    const db = await owner.asService();
    const stopSocket = options.serve ? await db.serveSocket(socket, SOCKET_CONNECTIONS) : null;
    return {
      ...db,
      async close() {
        try {
          await stopSocket?.();
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * The owner of the schema, for migrations and the few admin commands that need it (`agent-gate migrate`,
 * `keys rotate`): on PostgreSQL the login of AGENT_GATE_MIGRATION_DATABASE_URL, or DATABASE_URL's when unset;
 * on the embedded database the data dir itself, which a running app keeps to itself.
 */
export async function openOwnerDatabase(
  settings: StorageSettings,
  command: string,
  options: { create?: boolean } = {},
): Promise<Database> {
  if (settings.databaseUrl) {
    const { openPg } = await import("./pg.ts");
    const url = settings.migrationDatabaseUrl ?? settings.databaseUrl;
    const db = openPg({ connectionString: url, max: 2 });
    const check = options.create ? requireDatabase(db, describeUrl(url)) : requireSchema(db, describeUrl(url));
    await check.catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    return db;
  }
  const dataDir = resolve(settings.dataDir);
  const { openPglite, pgliteDataExists } = await import("./pglite.ts");
  if (!options.create && !pgliteDataExists(dataDir)) {
    throw unavailable(
      `No embedded database in ${dataDir} (AGENT_GATE_DATA_DIR, default .agent-gate/data, from ${process.cwd()}): start the app there once (\`npm start\`) or run \`agent-gate migrate\` to create it.`,
    );
  }
  secureDataDir(dataDir, { create: options.create === true });
  const lock = takeLock(dataDir, { pid: process.pid });
  if (!lock.taken) {
    throw new GateError(
      "database_in_use",
      `\`agent-gate ${command}\` needs the embedded database's owner, which the running app (process ${lock.holder.pid}) does not lend through its socket: ` +
        "stop the app, run the command, then start the app again.",
      { status: 503 },
    );
  }
  try {
    const db = await openPglite({ dataDir, sharedBuffers: COMMAND_SHARED_BUFFERS });
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Apply pending migrations as the owner of the PostgreSQL schema. */
async function migrateAsOwner(settings: StorageSettings): Promise<string[]> {
  const owner = await openOwnerDatabase(settings, "migrate", { create: true });
  try {
    return await migrate(owner);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42501" && !settings.migrationDatabaseUrl) {
      throw new GateError(
        "migration_refused",
        `Migrations are pending and the login in DATABASE_URL may not apply them (${(error as Error).message}): ` +
          "set AGENT_GATE_MIGRATION_DATABASE_URL to the login that owns the schema (docs/operations.md), or run `agent-gate migrate` with it.",
        { status: 503, cause: error },
      );
    }
    throw error;
  } finally {
    await owner.close();
  }
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `"${decodeURIComponent(parsed.pathname.slice(1)) || "(default)"}" on ${parsed.hostname || "localhost"}${parsed.port ? `:${parsed.port}` : ""}`;
  } catch {
    return "named in DATABASE_URL";
  }
}

/**
 * `serve` and `migrate` create the schema, never the PostgreSQL database itself: a missing one is refused
 * with its name and the command that creates it.
 */
async function requireDatabase(db: Database, name: string): Promise<void> {
  try {
    await db.query("SELECT 1");
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") {
      throw unavailable(
        `The PostgreSQL database ${name} (DATABASE_URL) does not exist: create it (\`createdb\` or CREATE DATABASE, as a user allowed to), then start again; the app and \`agent-gate migrate\` create the schema in it, not the database.`,
        error,
      );
    }
    throw error;
  }
}

/** A database that does not exist, or has no Agent Gate schema yet, is refused rather than created. */
async function requireSchema(db: Database, name: string): Promise<void> {
  let rows: { present: boolean }[];
  try {
    rows = await db.query<{ present: boolean }>(
      "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present",
    );
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") {
      throw unavailable(
        `The PostgreSQL database ${name} (DATABASE_URL) does not exist: create it, then run \`agent-gate migrate\`.`,
        error,
      );
    }
    throw error;
  }
  if (!rows[0]?.present) {
    throw unavailable(
      `The PostgreSQL database ${name} (DATABASE_URL) has no Agent Gate schema: run \`agent-gate migrate\` (or start the app) first.`,
    );
  }
}
