import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { runCli, runCliProcess } from "../support/cli.ts";
import { ROOT } from "../support/dist-app.ts";

// A mistyped or missing DATABASE_URL never creates a new, empty database: commands other than `serve` and
// `migrate` refuse and name what they looked for; `migrate` then creates the schema.

describe.runIf(backend() === "postgres")(
  "the CLI on a PostgreSQL database that is missing or not migrated",
  { timeout: 120_000 },
  () => {
    const admin = process.env.TEST_DATABASE_URL!;
    const name = `agent_gate_t_${randomBytes(6).toString("hex")}`;
    const url = new URL(admin);
    url.pathname = `/${name}`;
    let cwd: string;
    const env = (databaseUrl: string) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      AGENT_GATE_KEYS: "k1:" + Buffer.alloc(32, 7).toString("base64"),
    });

    beforeAll(() => {
      cwd = mkdtempSync(join(tmpdir(), "agent-gate-missing-"));
    });
    afterAll(async () => {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      rmSync(cwd, { recursive: true, force: true });
    });

    it("refuses a database that does not exist, naming it", async () => {
      const missing = new URL(admin);
      missing.pathname = "/agent_gate_no_such_database";
      const result = await runCli(
        ["audit", "export", "--installation", "1", "--manifest", join(cwd, "manifest.json")],
        env(missing.toString()),
      );
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(
        'The PostgreSQL database "agent_gate_no_such_database" on 127.0.0.1:5432 (DATABASE_URL) does not exist',
      );
      expect(result.stdout).toBe("");
    });

    it("refuses a database without the schema and leaves it empty; migrate creates the schema", async () => {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      const refused = await runCli(["token", "list", "--json"], env(url.toString()));
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(`The PostgreSQL database "${name}"`);
      expect(refused.stderr).toContain("has no Agent Gate schema: run `agent-gate migrate`");
      const probe = new pg.Client({ connectionString: url.toString() });
      await probe.connect();
      const tables = await probe.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      await probe.end();
      expect(tables.rows[0].n).toBe(0);

      expect((await runCli(["migrate"], env(url.toString()))).code).toBe(0);
      const listed = await runCli(["token", "list", "--json"], env(url.toString()));
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({ tokens: [] });
    });

    it("prints its version", async () => {
      const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
      // A process: the version is read from package.json relative to the compiled dist/cli.js the bin runs.
      const result = await runCliProcess(["--version"], env(url.toString()), { cwd });
      expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
    });
  },
);
