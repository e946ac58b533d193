import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { renderChecks, runDoctor, type CheckResult } from "../../src/cli/doctor.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { reencryptSealed, rotateSigningKey } from "../../src/keys/store.ts";

const PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

let t: TestDatabase;
let dns: TestDnsServer;
let env: NodeJS.ProcessEnv;
let fake: GitHubFake;

beforeAll(async () => {
  [t, dns, fake] = await Promise.all([createTestDatabase(), startDnsServer(), GitHubFake.start()]);
  env = {
    APP_ID: "4242",
    PRIVATE_KEY: PEM.replace(/\n/g, "\\n"),
    WEBHOOK_SECRET: "s3cret-webhook-value-0123",
    GHE_HOST: new URL(fake.url).host,
    GHE_PROTOCOL: "http",
    GITHUB_CLIENT_ID: "Iv1.0123456789abcdef",
    GITHUB_CLIENT_SECRET: "oauth-client-secret-must-not-leak",
    AGENT_GATE_PUBLIC_URL: "https://gate.example.test",
    AGENT_GATE_KEYS: generateKeyEntry("k1"),
    AGENT_GATE_DNS_SERVERS: dns.address,
    AGENT_GATE_DNS_TIMEOUT_MS: "300",
  };
});
afterAll(async () => {
  await Promise.all([t.drop(), dns.stop(), fake.close()]);
});

const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));

describe("agent-gate doctor", { timeout: 120_000 }, () => {
  it("passes a well-configured environment", async () => {
    const results = await runDoctor(env, { openDb: async () => t.db });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual([
      "app_id",
      "private_key",
      "github_app",
      "webhook_secret",
      "oauth_client",
      "public_url",
      "keyring",
      "database",
      "migrations",
      "row_level_security",
      "database_login",
      "key_ids",
      "webhook_inbox",
      "notifications",
      "audit_witnesses",
      "github_rate_limit",
      "dns",
      "settings",
    ]);
    expect(byName(results).github_app!.detail).toContain("GitHub accepts the credentials of App 4242");
    expect(fake.callsTo("GET", "/app").length).toBeGreaterThan(0);
    expect(fake.callsTo("GET", "/app").at(-1)!.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(byName(results).row_level_security!.detail).toMatch(
      /agent_gate_app is bound by row level security \(the app connects as /,
    );
  });

  it("lists messages that failed for good, without secrets, and fails", async () => {
    await t.db.query(
      `INSERT INTO notify_jobs (installation_id, proposal_id, event, channel_id, dedupe_key, created_at, done_at, outcome, last_error)
       VALUES (1, 'prp_DOCTORDOCTORDOCTOR00', 'pending', 'chn_DOCTORDOCTORDOCTOR0', 'doctor-test', now(), now(), 'failed', 'slack: invalid_auth')`,
    );
    try {
      const results = await runDoctor(env, { openDb: async () => t.db });
      const check = byName(results).notifications!;
      expect(check.ok).toBe(false);
      expect(check.detail).toContain(
        "1 message(s) failed for good: prp_DOCTORDOCTORDOCTOR00 pending (slack: invalid_auth)",
      );
      expect(check.fix).toContain("agent-gate channel list");
    } finally {
      await t.db.query("DELETE FROM notify_jobs WHERE dedupe_key = 'doctor-test'");
    }
  });

  it.each([
    ["APP_ID is not numeric", { APP_ID: "my-app" }, "app_id", /numeric App ID/],
    [
      "the private key is not a key",
      { PRIVATE_KEY: `-----BEGIN RSA ${"PRIVATE"} KEY-----\\nnope\\n-----END RSA ${"PRIVATE"} KEY-----` },
      "private_key",
      /PEM private key/,
    ],
    [
      "no private key at all",
      { PRIVATE_KEY: "", PRIVATE_KEY_PATH: "/nonexistent/key.pem" },
      "private_key",
      /PRIVATE_KEY_PATH/,
    ],
    ["the webhook secret is missing", { WEBHOOK_SECRET: "" }, "webhook_secret", /WEBHOOK_SECRET/],
    ["the webhook secret is short", { WEBHOOK_SECRET: "s3cret" }, "webhook_secret", /at least 16 characters/],
    ["the OAuth client secret is missing", { GITHUB_CLIENT_SECRET: "" }, "oauth_client", /GITHUB_CLIENT_SECRET/],
    [
      "the public URL is plain http on a public host",
      { AGENT_GATE_PUBLIC_URL: "http://gate.example.com" },
      "public_url",
      /https/,
    ],
    ["the public URL is missing", { AGENT_GATE_PUBLIC_URL: "" }, "public_url", /AGENT_GATE_PUBLIC_URL/],
    ["the keyring does not parse", { AGENT_GATE_KEYS: "k1:short" }, "keyring", /keys generate/],
    [
      "PostgreSQL without a keyring",
      { AGENT_GATE_KEYS: "", DATABASE_URL: "postgres://unused" },
      "keyring",
      /AGENT_GATE_KEYS/,
    ],
    [
      "GHE_HOST has a scheme",
      { GHE_HOST: "http://127.0.0.1:3999", GHE_PROTOCOL: "" },
      "github_app",
      /GHE_HOST to the host \(and :port\) only/,
    ],
  ])("fails when %s, with a fix", async (_name, override, check, fix) => {
    const results = await runDoctor({ ...env, ...override }, { openDb: async () => t.db });
    const failed = results.filter((r) => !r.ok);
    // Checks that need this one are not run on it: they fail as "not checked".
    expect(failed.map((r) => r.name)[0]).toBe(check);
    for (const dependent of failed.slice(1)) expect(dependent.detail).toMatch(/^not checked/);
    expect(failed[0]!.fix).toMatch(fix);
    expect(renderChecks(results)).toContain(`FAIL ${check}`);
    expect(renderChecks(results)).not.toContain("http://http://");
  });

  it("fails when a variable holds a value the app refuses at start-up, naming it", async () => {
    const results = await runDoctor(
      { ...env, LOG_LEVEL: "loud", AGENT_GATE_INBOX_RETRY_MS: "soon" } as unknown as NodeJS.ProcessEnv,
      { openDb: async () => t.db },
    );
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual(["settings"]);
    const settings = byName(results).settings!;
    expect(settings.detail).toContain("LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent");
    expect(settings.detail).toContain("AGENT_GATE_INBOX_RETRY_MS must be a non-negative integer");
    expect(renderChecks(results)).toContain("FAIL settings");
  });

  it("fails when GitHub refuses the App's credentials, or they belong to another App", async () => {
    fake.failNext("GET", "/app", 1, 401);
    const refused = byName(await runDoctor(env, { openDb: async () => t.db })).github_app!;
    expect(refused).toMatchObject({
      ok: false,
      detail: expect.stringContaining("refused"),
      fix: expect.stringMatching(/private key/),
    });
    fake.on("GET", "/app", () => ({ status: 200, body: { id: 999, slug: "someone-else" } }));
    try {
      const other = byName(await runDoctor(env, { openDb: async () => t.db })).github_app!;
      expect(other).toMatchObject({ ok: false, detail: expect.stringContaining("App 999, not APP_ID 4242") });
    } finally {
      fake.on("GET", "/app", (call) => ({
        status: 200,
        body: {
          id: Number(
            JSON.parse(Buffer.from(String(call.headers.authorization).split(".")[1]!, "base64url").toString()).iss,
          ),
          slug: "agent-gate-test",
        },
      }));
    }
  });

  it("fails when a stored value is sealed under a key id the keyring lacks", async () => {
    const other = generateKeyEntry("kgone");
    await rotateSigningKey(t.db, parseKeyring(`${other},${env.AGENT_GATE_KEYS}`), new Date());
    const results = await runDoctor(env, { openDb: async () => t.db });
    expect(byName(results).key_ids).toMatchObject({ ok: false, detail: expect.stringContaining("kgone") });
    expect(
      byName(
        await runDoctor({ ...env, AGENT_GATE_KEYS: `${env.AGENT_GATE_KEYS},${other}` }, { openDb: async () => t.db }),
      ).key_ids!.ok,
    ).toBe(true);
    // Re-seal everything under the current key for the other tests.
    await reencryptSealed(t.owner, parseKeyring(`${env.AGENT_GATE_KEYS},${other}`));
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
    const results = await runDoctor(env, {
      openDb: async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:1")),
    });
    expect(byName(results).database).toMatchObject({
      ok: false,
      unavailable: true,
      fix: expect.stringMatching(/DATABASE_URL/),
    });
  });

  // Roles are cluster-wide: instead of altering agent_gate_app (which other test files rely on), the
  // check runs against a throwaway role with the same grants problem, created and dropped here.
  it("fails when the app's login owns the schema: one login for the app and its migrations", async () => {
    const ok = byName(await runDoctor(env, { openDb: async () => t.db })).database_login!;
    expect(ok).toMatchObject({ ok: true, detail: expect.stringMatching(/agent_gate_service/) });
    const results = await runDoctor(env, { openDb: async () => t.owner });
    const login = byName(results).database_login!;
    expect(login.ok).toBe(false);
    expect(login.detail).toMatch(
      /the database login of DATABASE_URL \(\w+\) (is a superuser|owns the schema).*append-only trigger/,
    );
    expect(login.fix).toContain("AGENT_GATE_MIGRATION_DATABASE_URL");
    expect(login.fix).toContain("docs/operations.md");
  });

  it("catches a tenant role that bypasses row level security", async () => {
    const role = `agent_gate_doctor_${randomBytes(4).toString("hex")}`;
    await t.owner.exec(`CREATE ROLE ${role} NOLOGIN BYPASSRLS`);
    try {
      const results = await runDoctor(env, { openDb: async () => t.db, appRole: role });
      const rls = byName(results).row_level_security!;
      expect(rls.ok).toBe(false);
      expect(rls.detail).toContain(`${role} has BYPASSRLS`);
      expect(rls.fix).toContain(`ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS`);
      await t.owner.exec(`ALTER ROLE ${role} NOBYPASSRLS SUPERUSER`);
      expect(
        byName(await runDoctor(env, { openDb: async () => t.db, appRole: role })).row_level_security!.detail,
      ).toMatch(/is a superuser/);
    } finally {
      await t.owner.exec(`DROP ROLE ${role}`);
    }
  });

  // `agent-gate doctor` in this process: the test runner's environment, this file's, then the override.
  const doctor = (args: string[], override: NodeJS.ProcessEnv) =>
    runCli(["doctor", ...args], { ...process.env, ...env, ...override });

  it.runIf(backend() === "postgres")(
    "runs as `agent-gate doctor --json`: exit 0 when every check passes, 1 on a failed check",
    async () => {
      const passed = await doctor(["--json"], { DATABASE_URL: t.url });
      expect(passed.code).toBe(0);
      expect(JSON.parse(passed.stdout)).toMatchObject({ ok: true });

      const result = await doctor(["--json"], { APP_ID: "not-a-number", DATABASE_URL: t.url });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
      expect(report.ok).toBe(false);
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["app_id", "github_app", "settings"]);
      expect(report.checks.find((c) => c.name === "settings")?.detail).toMatch(/^not checked/);
      for (const check of report.checks) for (const key of Object.keys(check)) expect(key).toMatch(/^[a-z_]+$/);
      expect(JSON.stringify(report)).not.toContain("s3cret");
      expect(JSON.stringify(report)).not.toContain("oauth-client-secret-must-not-leak");
    },
  );

  it("exits 2 on a usage error and 3 when the database is unreachable", async () => {
    const usage = await doctor(["--no-such-option"], {});
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown option");
    const unreachable = await doctor(["--json"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres" });
    expect(unreachable.code).toBe(3);
    expect(JSON.parse(unreachable.stdout).checks.find((c: CheckResult) => c.name === "database")).toMatchObject({
      ok: false,
      unavailable: true,
    });
  });
});
