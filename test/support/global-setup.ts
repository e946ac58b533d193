import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPglite } from "../../src/db/pglite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openPg } from "../../src/db/pg.ts";

/**
 * Migrate one PGlite database and dump its data dir, and (with TEST_DATABASE_URL) one PostgreSQL database kept
 * as a template, so each test file starts from its own copy instead of migrating anew: a PGlite data dir loaded
 * from the dump, a PostgreSQL `CREATE DATABASE … TEMPLATE`. The template is dropped when the run ends.
 */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  const dropTemplate = await migratedPostgresTemplate(provide);
  buildIfStale();
  const db = await openPglite();
  await migrate(db);
  // Uncompressed: each PGlite test database loads it, and skipping gunzip takes a third off that.
  const dump = await db.pglite.dumpDataDir("none");
  await db.close();
  const dir = mkdtempSync(join(tmpdir(), "agent-gate-test-"));
  const file = join(dir, "migrated.tar");
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  provide("pgliteDump", file);
  return dropTemplate;
}

/** A migrated PostgreSQL database no one connects to, for createTestDatabase to copy; returns its teardown. */
async function migratedPostgresTemplate(provide: (key: string, value: string) => void): Promise<() => Promise<void>> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  provide("postgresTemplate", "");
  if (!adminUrl) return async () => {};
  const name = `agent_gate_tpl_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const owner = openPg({ connectionString: url.toString(), max: 1 });
  try {
    await migrate(owner);
  } finally {
    await owner.close();
  }
  provide("postgresTemplate", name);
  return () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

declare module "vitest" {
  export interface ProvidedContext {
    pgliteDump: string;
    /** The migrated PostgreSQL template's name ("" without TEST_DATABASE_URL). */
    postgresTemplate: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
}

/**
 * The tests that run the app as `npm start` does (and the `agent-gate` bin) run dist/: rebuild it when a
 * source is newer than the last build, so they never test stale code.
 */
function buildIfStale(): void {
  const stamp = join(ROOT, "dist", ".built");
  const sources = Math.max(
    newest(join(ROOT, "src")),
    statSync(join(ROOT, "tsconfig.build.json")).mtimeMs,
    statSync(join(ROOT, "scripts", "build-dist.mjs")).mtimeMs,
  );
  if (
    existsSync(stamp) &&
    existsSync(join(ROOT, "dist", "db", "pglite-template.tar.gz")) &&
    statSync(stamp).mtimeMs >= sources
  )
    return;
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-dist.mjs")], { cwd: ROOT, stdio: "inherit" });
}
