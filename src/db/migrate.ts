import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Database } from "./database.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
const LOCK_KEY = 7_413_001; // advisory lock shared by every migrating process

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file.replace(/\.sql$/, ""),
      sql: readFileSync(join(dir, file), "utf8"),
    }));
}

/**
 * Apply pending migrations, each in its own transaction, recorded in
 * `schema_migrations`. Forward-only; safe to run from several processes at once.
 */
export async function migrate(db: Database): Promise<string[]> {
  const applied: string[] = [];
  // A current schema needs nothing of the owner: the app's login may call this too.
  if ((await pendingMigrations(db)).length === 0) return applied;
  await db.query(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const migration of listMigrations()) {
    const done = await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const seen = await tx.query("SELECT 1 FROM schema_migrations WHERE version = $1", [migration.version]);
      if (seen.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration.name);
  }
  return applied;
}

/** Versions not yet applied; empty when the schema is current. */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const rows = await db
    .query<{ version: number }>("SELECT version FROM schema_migrations")
    .catch(() => [] as { version: number }[]);
  const seen = new Set(rows.map((row) => row.version));
  return listMigrations()
    .filter((migration) => !seen.has(migration.version))
    .map((migration) => migration.name);
}
