import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort } from "../support/process-app.ts";
import { npmStartCommand, run, waitFor, type Running } from "../support/dist-app.ts";
import { runCliProcess } from "../support/cli.ts";

// Issue 26, item 3, as an operator meets it on PostgreSQL (`npm start`): with two logins the app runs as the one
// that owns nothing; with DATABASE_URL alone naming the schema's owner (one login, as before) it starts but says
// loudly that the audit log is unprotected, and `agent-gate doctor` fails; with AGENT_GATE_MIGRATION_DATABASE_URL
// set and DATABASE_URL still the owner it refuses to start; a login that cannot migrate says what to set.

describe.runIf(backend() === "postgres")("npm start with one or two database logins", { timeout: 240_000 }, () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  let tmp: string;
  const running: Running[] = [];
  const extra: { db: string; login: string }[] = [];
  let env: (storage: Record<string, string | undefined>, port: number) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    tmp = mkdtempSync(join(tmpdir(), "agent-gate-logins-"));
    const github = new URL(fake.url);
    const keys = `k1:${randomBytes(32).toString("base64")}`;
    const key = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString();
    env = (storage, port) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_ID: "4242",
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: "logins-secret",
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      AGENT_GATE_KEYS: keys,
      AGENT_GATE_DNS_SERVERS: "127.0.0.1:1",
      ...storage,
    });
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop("SIGKILL")));
    await fake?.close();
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    for (const { db, login } of extra) {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${login}`);
    }
    await admin.end();
    await t?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const start = (storage: Record<string, string | undefined>, port: number) => {
    const app = run(npmStartCommand(), tmp, env(storage, port));
    running.push(app);
    return app;
  };

  it("two logins: runs as the one that owns nothing, and says nothing alarming", async () => {
    const port = await freePort();
    const app = start({ DATABASE_URL: t.url, AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl }, port);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
    expect(app.output.join("")).not.toContain("UNPROTECTED AUDIT LOG");
    expect(await app.stop()).toBe(0);
    const doctor = await runCliProcess(["doctor"], env({ DATABASE_URL: t.url }, 0), { cwd: tmp });
    expect(doctor.stdout).toMatch(
      /ok {3}database_login: the app logs in as \w+, which holds agent_gate_service and owns nothing/,
    );
  });

  it("DATABASE_URL alone naming the owner: starts, warns loudly, and doctor fails", async () => {
    const port = await freePort();
    const app = start({ DATABASE_URL: t.ownerUrl }, port);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
    const said = app.output.join("");
    expect(said).toContain(
      "UNPROTECTED AUDIT LOG: the database login of DATABASE_URL (postgres) is a superuser, owns the schema",
    );
    expect(said).toContain("AGENT_GATE_MIGRATION_DATABASE_URL");
    expect(await app.stop()).toBe(0);
    const doctor = await runCliProcess(["doctor"], env({ DATABASE_URL: t.ownerUrl }, 0), { cwd: tmp });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      "FAIL database_login: the database login of DATABASE_URL (postgres) is a superuser, owns the schema",
    );
    expect(doctor.stdout).toContain("docs/operations.md");
  });

  it("AGENT_GATE_MIGRATION_DATABASE_URL set while DATABASE_URL is still the owner: refuses to start", async () => {
    const app = start({ DATABASE_URL: t.ownerUrl, AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl }, await freePort());
    expect(await app.exited).toBe(1);
    expect(app.output.join("")).toContain(
      "AGENT_GATE_MIGRATION_DATABASE_URL is set, but the database login of DATABASE_URL (postgres) is a superuser",
    );
  });

  it("a new database and the app's login alone: refuses, saying which login migrates; with it, migrates and starts", async () => {
    const name = `agent_gate_t_${randomBytes(6).toString("hex")}`;
    const login = `${name}_app`;
    extra.push({ db: name, login });
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.query(`CREATE ROLE ${login} LOGIN IN ROLE agent_gate_service`);
    await admin.end();
    const owner = new URL(process.env.TEST_DATABASE_URL!);
    owner.pathname = `/${name}`;
    const app = new URL(owner);
    app.username = login;

    const refused = start({ DATABASE_URL: app.toString() }, await freePort());
    expect(await refused.exited).toBe(1);
    expect(refused.output.join("")).toContain(
      "Migrations are pending and the login in DATABASE_URL may not apply them",
    );
    expect(refused.output.join("")).toContain("AGENT_GATE_MIGRATION_DATABASE_URL");

    const migrated = await runCliProcess(
      ["migrate"],
      env({ DATABASE_URL: app.toString(), AGENT_GATE_MIGRATION_DATABASE_URL: owner.toString() }, 0),
      { cwd: tmp },
    );
    expect(migrated.code, migrated.stderr).toBe(0);
    const port = await freePort();
    const started = start({ DATABASE_URL: app.toString() }, port);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, started);
    expect(started.output.join("")).not.toContain("UNPROTECTED AUDIT LOG");
    expect(await started.stop()).toBe(0);
  });
});
