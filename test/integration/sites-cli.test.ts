import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { openDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { migrate } from "../../src/db/migrate.ts";
import { cliEnv, runCli, type CliRun } from "../support/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-sites-"));
let t: TestDatabase | undefined;
let dns: TestDnsServer;
/** Storage for the CLI: a PGlite dir, or the test's PostgreSQL database. */
let storage: NodeJS.ProcessEnv;

function run(args: string[]): Promise<CliRun> {
  return runCli(
    ["site", ...args],
    cliEnv({ ...storage, AGENT_GATE_DNS_SERVERS: dns.address, AGENT_GATE_DNS_TIMEOUT_MS: "200" }),
  );
}

beforeAll(async () => {
  dns = await startDnsServer();
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url };
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
    // The CLI never creates a database: `migrate` (or the app's first start) does.
    const db = await openDatabase(readSettings(storage).storage, { create: true });
    await migrate(db);
    await db.close();
  }
}, 180_000);
afterAll(async () => {
  await Promise.all([t?.drop(), dns.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => dns.reset());

// Each command opens storage afresh (a PGlite data dir is slow to open): allow for it.
describe("agent-gate site", { timeout: 120_000 }, () => {
  it("adds, verifies and lists a site by DNS TXT record", async () => {
    const added = await run(["add", "Example.COM.", "--installation", "5", "--json"]);
    expect(added).toMatchObject({ code: 0, stderr: "" });
    const challenge = JSON.parse(added.stdout) as {
      domain: string;
      record_name: string;
      record_value: string;
      token: string;
    };
    expect(challenge).toMatchObject({ domain: "example.com", record_name: "_agent-gate.example.com" });
    expect(challenge.token).toMatch(/^[0-9A-Za-z]{32}$/);

    const text = await run(["add", "example.com", "--installation", "5"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`_agent-gate.example.com  TXT  "${challenge.record_value}"`);
    expect(text.stdout).toContain("agent-gate site verify example.com --installation 5");

    dns.set(challenge.record_name, { txt: [[challenge.record_value.slice(0, 20), challenge.record_value.slice(20)]] });
    const verified = await run(["verify", "EXAMPLE.com", "--installation", "5", "--json"]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      domain: "example.com",
      state: "verified",
      outcome: "verified",
    });

    const listed = await run(["list", "--installation", "5"]);
    expect(listed.code).toBe(0);
    const row = listed.stdout.split("\n").find((line) => line.includes("example.com"));
    expect(row).toMatch(/^5\s+example\.com\s+dns\s+verified\s+\d{4}-\d\d-\d\dT\S+\s+verified$/);
  });

  it("exits 1 when the record is missing or the resolver does not answer", async () => {
    const added = await run(["add", "missing.example", "--installation", "5", "--method", "dns", "--json"]);
    const challenge = JSON.parse(added.stdout) as { record_value: string };
    const missing = await run(["verify", "missing.example", "--installation", "5"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("no TXT record at _agent-gate.missing.example");
    expect(missing.stdout).toContain(challenge.record_value);

    dns.behaviour = "silent";
    const timeout = await run(["verify", "missing.example", "--installation", "5", "--json"]);
    expect(timeout.code).toBe(1);
    expect(JSON.parse(timeout.stdout)).toMatchObject({ state: "pending", outcome: "could_not_check" });
  });

  it("does not let another installation verify or list the site", async () => {
    const other = await run(["verify", "example.com", "--installation", "6"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("agent-gate site add example.com --installation 6");
    const listed = await run(["list", "--installation", "6", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual({ sites: [] });
  });

  it("lists every installation's sites without --installation", async () => {
    await run(["add", "files.example", "--installation", "8", "--method", "file"]);
    const listed = await run(["list", "--json"]);
    expect(listed.code).toBe(0);
    const sites = (
      JSON.parse(listed.stdout) as { sites: { installation_id: number; domain: string; method: string }[] }
    ).sites;
    expect(sites.map((site) => [site.installation_id, site.domain, site.method])).toEqual(
      expect.arrayContaining([
        [5, "example.com", "dns"],
        [8, "files.example", "file"],
      ]),
    );
  });

  it("runs the re-check sweep once", async () => {
    const result = await run(["recheck", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ checked: 0, verified: 0, failed: 0, lapsed: 0 });
  });

  it.each([
    [["add", "co.uk", "--installation", "5"], "public suffix"],
    [
      ["add", "example.org", "--installation", "five"],
      "--installation: no installation on the account five is recorded",
    ],
    [
      ["add", "example.org", "--installation", "5.5"],
      "--installation: must be an installation id (a number) or the account login",
    ],
    [["add", "example.org", "--installation", "5", "--method", "email"], 'method: must be "dns" or "file"'],
  ])("refuses %j with exit 2", async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
