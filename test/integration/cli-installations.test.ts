import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { readSettings } from "../../src/config/settings.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { migrate } from "../../src/db/migrate.ts";
import { openDatabase } from "../../src/db/open.ts";
import { recordInstallation, recordRepositories, removeInstallation } from "../../src/installations/store.ts";
import { example, startTestApp } from "../support/app.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { runCli, type CliRun } from "../support/cli.ts";

// `agent-gate installation list` and `--installation <id-or-login>`, run in
// process (the `main` the bin runs) against real storage; the installation recorded from a
// signed `installation.created` delivery logs its id and is audited with its sender.

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-installations-"));
const KEYS = generateKeyEntry("k1");
let t: TestDatabase | undefined;
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
  ])
    delete base[name];
  const env = { ...base, ...storage, AGENT_GATE_KEYS: KEYS };
  return runCli(args, env);
}

const recorded = new Date("2026-11-20T09:00:00.000Z");

beforeAll(async () => {
  const seed = async (db: Parameters<typeof recordInstallation>[0]) => {
    await recordInstallation(db, { id: 7, account: "acme" }, recorded, "octocat");
    await recordRepositories(
      db,
      7,
      [
        { id: 11, full_name: "acme/web" },
        { id: 12, full_name: "acme/api" },
      ],
      [],
      recorded,
    );
    await recordInstallation(db, { id: 9, account: "Other-Org" }, recorded);
    await recordInstallation(db, { id: 10, account: "gone" }, recorded);
    await removeInstallation(db, 10, recorded);
  };
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url };
    await seed(t.db);
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
    const db = await openDatabase(readSettings(storage).storage, { create: true });
    try {
      await migrate(db);
      await seed(db);
    } finally {
      await db.close();
    }
  }
}, 180_000);
afterAll(async () => {
  await t?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("agent-gate installation list", { timeout: 120_000 }, () => {
  it("shows each installation's id, account, repositories and when it was recorded", async () => {
    const result = await run(["installation", "list"]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ACCOUNT\s+STATE\s+REPOSITORIES\s+RECORDED$/);
    expect(lines.find((line) => line.startsWith("7 "))).toMatch(
      /^7\s+acme\s+active\s+acme\/api,acme\/web\s+2026-11-20T09:00:00.000Z$/,
    );
    expect(lines.find((line) => line.startsWith("10 "))).toMatch(/^10\s+gone\s+deleted\s+none/);
  });

  it("--json", async () => {
    const result = await run(["installation", "list", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const { installations } = JSON.parse(result.stdout) as { installations: Record<string, unknown>[] };
    expect(installations.find((row) => row.id === 7)).toEqual({
      id: 7,
      account: "acme",
      state: "active",
      repositories: ["acme/api", "acme/web"],
      recorded_at: "2026-11-20T09:00:00.000Z",
    });
    expect(installations.map((row) => row.id)).toEqual([7, 9, 10]);
  });
});

describe("--installation takes the id or the account login", { timeout: 180_000 }, () => {
  it("token create and token list by login, any case, as by id", async () => {
    const created = await run(["token", "create", "--installation", "OTHER-org", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ installation_id: 9 });
    const listed = await run(["token", "list", "--installation", "other-org", "--json"]);
    expect(
      (JSON.parse(listed.stdout) as { tokens: { installation_id: number }[] }).tokens.map((row) => row.installation_id),
    ).toEqual([9]);
    const byId = await run(["token", "list", "--installation", "9", "--json"]);
    expect(JSON.parse(byId.stdout)).toEqual(JSON.parse(listed.stdout));
  });

  it("site add and audit export by login", async () => {
    const site = await run(["site", "add", "example.com", "--installation", "acme", "--json"]);
    expect(site.code, site.stderr).toBe(0);
    const sites = await run(["site", "list", "--installation", "acme", "--json"]);
    expect(
      (JSON.parse(sites.stdout) as { sites: { installation_id: number }[] }).sites.map((row) => row.installation_id),
    ).toEqual([7]);
    const exported = await run(["audit", "export", "--installation", "acme", "--manifest", join(tmp, "manifest.json")]);
    expect(exported.code, exported.stderr).toBe(0);
    const first = JSON.parse(exported.stdout.split("\n")[0]!) as {
      installation_id: number;
      action: string;
      actor: string | null;
    };
    expect(first).toMatchObject({ installation_id: 7, action: "installation.created", actor: "octocat" });
  });

  it.each([
    [
      ["token", "create", "--installation", "nobody"],
      "--installation: no installation on the account nobody is recorded; `agent-gate installation list` shows",
    ],
    [["token", "list", "--installation", "gone"], "--installation: no installation on the account gone is recorded"],
    [
      ["site", "list", "--installation", "not a login!"],
      "--installation: must be an installation id (a number) or the account login it is installed on",
    ],
    [
      ["audit", "export", "--installation", "-1", "--manifest", "m.json"],
      "--installation: must be an installation id (a number) or the account login",
    ],
  ])("%j is refused naming the option (exit 2)", async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe("an installation recorded from GitHub's webhook", { timeout: 120_000 }, () => {
  it("is named in an info log line and audited with the sender as actor", async () => {
    const own = t ? undefined : await createTestDatabase();
    const db = (t ?? own)!.db;
    const fake = await GitHubFake.start();
    const app = await startTestApp({ db, fake, logLevel: "info" });
    try {
      const payload = example("installation", "created", 4321);
      payload.installation.account = { ...payload.installation.account, login: "newco" };
      payload.sender = { ...payload.sender, login: "installer-jane", type: "User" };
      const res = await app.deliver("installation", payload);
      expect(res.status).toBe(200);

      const line = app.logs
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((entry) => entry.installation === 4321);
      expect(line).toMatchObject({ level: 30, account: "newco", sender: "installer-jane" });
      expect(String(line?.msg)).toContain("installation 4321 recorded for newco");
      expect(String(line?.msg)).toContain("--installation newco");
      const events = await db.tenant(4321, (tx) => readAudit(tx, 4321));
      expect(events.find((event) => event.action === "installation.created")).toMatchObject({
        actor: "installer-jane",
        subject: "newco",
      });
    } finally {
      await app.close();
      await fake.close();
      await own?.drop();
    }
  });
});
