import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { migrate } from "../../src/db/migrate.ts";
import { openDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { recordInstallation } from "../../src/installations/store.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { runCli, type CliRun } from "../support/cli.ts";

// Every `--json` output of the CLI, run in process (the `main` the bin runs) against real
// storage: each prints JSON whose keys, at every depth, are snake_case.
// (`explain --json`, which needs GitHub, is checked the same way in ops-explain.test.ts.)

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-json-"));
const file = (name: string) => join(tmp, name);
const KEYS = generateKeyEntry("k1");
let t: TestDatabase | undefined;
let dns: TestDnsServer;
let storage: NodeJS.ProcessEnv;

function run(args: string[]): Promise<CliRun> {
  const base = { ...process.env };
  for (const name of [
    "DATABASE_URL",
    "AGENT_GATE_DATA_DIR",
    "APP_ID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "WEBHOOK_SECRET",
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
  ])
    delete base[name];
  const env = {
    ...base,
    ...storage,
    AGENT_GATE_KEYS: KEYS,
    AGENT_GATE_DNS_SERVERS: dns.address,
    AGENT_GATE_DNS_TIMEOUT_MS: "200",
  };
  return runCli(args, env);
}

/** Every key at every depth, with its path, e.g. `tokens[0].installation_id`. */
function keysOf(value: unknown, at = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => keysOf(item, `${at}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) => [`${at}.${key}`, ...keysOf(inner, `${at}.${key}`)]);
  }
  return [];
}

const SNAKE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

/** Parse one command's JSON output and check it has keys, every one of them snake_case. */
function snakeJson(result: CliRun, command: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new Error(`${command} --json printed no JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
  const keys = keysOf(parsed);
  expect(keys.length, `${command} printed no keys`).toBeGreaterThan(0);
  expect(
    keys.filter(
      (path) =>
        !SNAKE.test(
          path
            .split(".")
            .at(-1)!
            .replace(/\[\d+\]$/, ""),
        ),
    ),
    command,
  ).toEqual([]);
  return parsed as Record<string, unknown>;
}

beforeAll(async () => {
  dns = await startDnsServer();
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url, AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl };
    await recordInstallation(t.db, { id: 7, account: "acme" }, new Date());
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
    const db = await openDatabase(readSettings(storage).storage, { create: true });
    try {
      await migrate(db);
      await recordInstallation(db, { id: 7, account: "acme" }, new Date());
    } finally {
      await db.close();
    }
  }
}, 180_000);
afterAll(async () => {
  await Promise.all([t?.drop(), dns.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

describe("every --json output of the CLI", { timeout: 300_000 }, () => {
  it("uses snake_case keys at every depth, command by command", async () => {
    snakeJson(await run(["migrate", "--json"]), "migrate");

    const created = snakeJson(
      await run(["token", "create", "--installation", "7", "--name", "release-bot", "--repo", "acme/web", "--json"]),
      "token create",
    );
    expect(created).toMatchObject({ name: "release-bot", installation_id: 7, repos: ["acme/web"] });
    const listed = snakeJson(await run(["token", "list", "--json"]), "token list");
    expect(listed.tokens).toHaveLength(1);
    snakeJson(await run(["token", "rotate", String(created.prefix), "--json"]), "token rotate");

    snakeJson(await run(["site", "add", "example.com", "--installation", "7", "--json"]), "site add");
    const verify = await run(["site", "verify", "example.com", "--installation", "7", "--json"]);
    expect(verify.code).toBe(1);
    snakeJson(verify, "site verify");
    expect((snakeJson(await run(["site", "list", "--json"]), "site list").sites as unknown[]).length).toBe(1);
    snakeJson(await run(["site", "recheck", "--json"]), "site recheck");

    snakeJson(await run(["keys", "rotate", "--json"]), "keys rotate");
    const keys = await run(["keys", "list", "--json"]);
    snakeJson(keys, "keys list");
    writeFileSync(file("keys.json"), keys.stdout);

    const exported = await run([
      "audit",
      "export",
      "--installation",
      "7",
      "--manifest",
      file("manifest.json"),
      "--output",
      file("audit.jsonl"),
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    const verified = snakeJson(
      await run([
        "audit",
        "verify",
        file("audit.jsonl"),
        "--manifest",
        file("manifest.json"),
        "--keys",
        file("keys.json"),
        "--json",
      ]),
      "audit verify",
    );
    expect(verified.ok).toBe(true);
    snakeJson(
      await run(["audit", "prune", "--installation", "7", "--before", "2000-01-01T00:00:00Z", "--json"]),
      "audit prune",
    );

    const receipt = await run([
      "receipt",
      "verify",
      "not.a-receipt",
      "--keys",
      file("keys.json"),
      "--digest",
      "a".repeat(40),
      "--repo",
      "acme/web",
      "--json",
    ]);
    expect(receipt.code).toBe(1);
    expect(snakeJson(receipt, "receipt verify")).toMatchObject({ valid: false });

    const attestation = await run(["attestation", "verify", file("keys.json"), "--keys", file("keys.json"), "--json"]);
    expect(attestation.code).toBe(1);
    expect(snakeJson(attestation, "attestation verify")).toMatchObject({ valid: false, code: "attestation_malformed" });

    const doctor = await run(["doctor", "--json"]);
    expect(snakeJson(doctor, "doctor").checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "app_id", ok: false })]),
    );
  });
});
