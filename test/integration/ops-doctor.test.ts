import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { renderChecks, runDoctor, type CheckResult } from "../../src/cli/doctor.ts";

const BIN = join(import.meta.dirname, "../../bin/agent-gate.js");
const PEM = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

let t: TestDatabase;
let dns: TestDnsServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [t, dns] = await Promise.all([createTestDatabase(), startDnsServer()]);
  env = {
    APP_ID: "4242",
    PRIVATE_KEY: PEM.replace(/\n/g, "\\n"),
    WEBHOOK_SECRET: "s3cret",
    AGENT_GATE_KEYS: generateKeyEntry("k1"),
    AGENT_GATE_DNS_SERVERS: dns.address,
    AGENT_GATE_DNS_TIMEOUT_MS: "300",
  };
});
afterAll(async () => {
  await Promise.all([t.drop(), dns.stop()]);
});

const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));

describe("agent-gate doctor", { timeout: 120_000 }, () => {
  it("passes a well-configured environment", async () => {
    const results = await runDoctor(env, { openDb: async () => t.db });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(["app_id", "private_key", "webhook_secret", "keyring", "database", "migrations", "row_level_security", "webhook_inbox", "dns"]);
    expect(byName(results).row_level_security!.detail).toMatch(/agent_gate_app is bound by row level security \(the app connects as /);
  });

  it.each([
    ["APP_ID is not numeric", { APP_ID: "my-app" }, "app_id", /numeric App ID/],
    ["the private key is not a key", { PRIVATE_KEY: `-----BEGIN RSA ${"PRIVATE"} KEY-----\\nnope\\n-----END RSA ${"PRIVATE"} KEY-----` }, "private_key", /PEM private key/],
    ["no private key at all", { PRIVATE_KEY: "", PRIVATE_KEY_PATH: "/nonexistent/key.pem" }, "private_key", /PRIVATE_KEY_PATH/],
    ["the webhook secret is missing", { WEBHOOK_SECRET: "" }, "webhook_secret", /webhook secret/],
    ["the keyring does not parse", { AGENT_GATE_KEYS: "k1:short" }, "keyring", /keys generate/],
    ["PostgreSQL without a keyring", { AGENT_GATE_KEYS: "", DATABASE_URL: "postgres://unused" }, "keyring", /AGENT_GATE_KEYS/],
  ])("fails when %s, with a fix", async (_name, override, check, fix) => {
    const results = await runDoctor({ ...env, ...override }, { openDb: async () => t.db });
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.name)).toEqual([check]);
    expect(failed[0]!.fix).toMatch(fix);
    expect(renderChecks(results)).toContain(`FAIL ${check}`);
  });

  it("fails when the DNS servers do not answer", async () => {
    dns.behaviour = "silent";
    try {
      const results = await runDoctor(env, { openDb: async () => t.db });
      expect(byName(results).dns).toMatchObject({ ok: false, fix: expect.stringMatching(/AGENT_GATE_DNS_SERVERS/) });
    } finally {
      dns.behaviour = "answer";
    }
  });

  it("fails when the database is unreachable", async () => {
    const results = await runDoctor(env, { openDb: async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:1")) });
    expect(byName(results).database).toMatchObject({ ok: false, fix: expect.stringMatching(/DATABASE_URL/) });
  });

  // Roles are cluster-wide: instead of altering agent_gate_app (which other test files rely on), the
  // check runs against a throwaway role with the same grants problem, created and dropped here.
  it("catches a tenant role that bypasses row level security", async () => {
    const role = `agent_gate_doctor_${randomBytes(4).toString("hex")}`;
    await t.db.exec(`CREATE ROLE ${role} NOLOGIN BYPASSRLS`);
    try {
      const results = await runDoctor(env, { openDb: async () => t.db, appRole: role });
      const rls = byName(results).row_level_security!;
      expect(rls.ok).toBe(false);
      expect(rls.detail).toContain(`${role} has BYPASSRLS`);
      expect(rls.fix).toContain(`ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS`);
      await t.db.exec(`ALTER ROLE ${role} NOBYPASSRLS SUPERUSER`);
      expect(byName(await runDoctor(env, { openDb: async () => t.db, appRole: role })).row_level_security!.detail).toMatch(/is a superuser/);
    } finally {
      await t.db.exec(`DROP ROLE ${role}`);
    }
  });

  it.runIf(backend() === "postgres")("runs as `agent-gate doctor --json`, exiting 1 on a failed check", async () => {
    const childEnv = { ...process.env, ...env, APP_ID: "not-a-number", DATABASE_URL: t.url };
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile("node", [BIN, "doctor", "--json"], { env: childEnv, timeout: 60_000 }, (error, stdout) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout });
      });
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["app_id"]);
    expect(JSON.stringify(report)).not.toContain("s3cret");
  });
});
