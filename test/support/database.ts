import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { SERVICE_ROLE, type Database } from "../../src/db/database.ts";
import { openPg } from "../../src/db/pg.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { migrate } from "../../src/db/migrate.ts";

export interface TestDatabase {
  /** The app's login, as the running app has it: agent_gate_service, owning nothing (docs/operations.md). */
  db: Database;
  /** The schema's owner (the login migrations run as), for a test that must act as the owner. */
  owner: Database;
  /** Connection string of the fresh PostgreSQL database as the app's login, when on PostgreSQL. */
  url?: string;
  /** The same database as its owner (AGENT_GATE_MIGRATION_DATABASE_URL), when on PostgreSQL. */
  ownerUrl?: string;
  /** Open another handle on the same database as the app's login (a second app process). */
  another(): Promise<Database>;
  drop(): Promise<void>;
}

export function backend(): "pglite" | "postgres" {
  return process.env.TEST_BACKEND === "postgres" ? "postgres" : "pglite";
}

/** The migrated data dir global-setup dumped, read once per worker (a Blob is never changed by loading it). */
let pgliteDump: Blob | undefined;

/** A fresh, migrated database for one test file, on the backend under test, opened as the app's login. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (backend() === "postgres") return createPostgres();
  pgliteDump ??= new Blob([readFileSync(inject("pgliteDump"))]);
  // A test's database holds a few rows: a small buffer pool starts it faster (as a CLI command's does).
  const owner = await openPglite({ loadDataDir: pgliteDump, sharedBuffers: "16MB" });
  await migrate(owner);
  const db = await owner.asService();
  return {
    db,
    owner,
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
  const login = `${name}_app`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // A copy of the template global-setup migrated once (the same schema, owner and grants); migrate() then finds
  // nothing pending.
  const template = inject("postgresTemplate");
  await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
  await admin.end();
  const ownerUrl = new URL(adminUrl);
  ownerUrl.pathname = `/${name}`;
  const owner = openPg({ connectionString: ownerUrl.toString(), max: 4 });
  await migrate(owner);
  // The app's login, as docs/operations.md has an admin create it: it holds agent_gate_service and nothing else.
  await owner.query(
    `CREATE ROLE ${login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE ${SERVICE_ROLE}`,
  );
  const url = new URL(ownerUrl);
  url.username = login;
  url.password = "";
  const db = openPg({ connectionString: url.toString() });
  const handles: Database[] = [db, owner];
  return {
    db,
    owner,
    url: url.toString(),
    ownerUrl: ownerUrl.toString(),
    another: async () => {
      const other = openPg({ connectionString: url.toString() });
      handles.push(other);
      return other;
    },
    drop: async () => {
      await Promise.all(
        handles.map((handle) =>
          handle
            .close()
            .catch((error: unknown) => console.warn(`closing a test database handle failed: ${String(error)}`)),
        ),
      );
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.query(`DROP ROLE IF EXISTS ${login}`);
      await cleanup.end();
    },
  };
}
