import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { openPg } from "../../src/db/pg.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { migrate } from "../../src/db/migrate.ts";

export interface TestDatabase {
  db: Database;
  /** Connection string of the fresh PostgreSQL database, when on PostgreSQL. */
  url?: string;
  /** Open another handle on the same database (a second app process). */
  another(): Promise<Database>;
  drop(): Promise<void>;
}

export function backend(): "pglite" | "postgres" {
  return process.env.TEST_BACKEND === "postgres" ? "postgres" : "pglite";
}

/** A fresh, migrated database for one test file, on the backend under test. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (backend() === "postgres") return createPostgres();
  const dump = readFileSync(inject("pgliteDump"));
  const db = await openPglite({ loadDataDir: new Blob([dump]) });
  await migrate(db);
  return {
    db,
    another: async () => {
      throw new Error("PGlite is embedded: a second process cannot share it");
    },
    drop: () => db.close(),
  };
}

async function createPostgres(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is required for the postgres backend");
  const name = `agent_gate_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = openPg({ connectionString: url.toString() });
  await migrate(db);
  const handles: Database[] = [db];
  return {
    db,
    url: url.toString(),
    another: async () => {
      const other = openPg({ connectionString: url.toString() });
      handles.push(other);
      return other;
    },
    drop: async () => {
      await Promise.all(handles.map((handle) => handle.close().catch(() => {})));
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
