import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { recordInstallation } from "../../src/installations/store.ts";
import { isWellFormedToken } from "../../src/tokens/format.ts";
import { cliEnv, runCli, type CliRun } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-token-"));
let t: TestDatabase | undefined;
let storage: NodeJS.ProcessEnv;

/** One `agent-gate token` command, in process, on the test's storage. */
function run(args: string[]): Promise<CliRun> {
  return runCli(["token", ...args], cliEnv(storage));
}

/** Record installation 7 as its webhook would, in the storage the commands use. */
async function withStorage(fn: (db: Database) => Promise<void>): Promise<void> {
  if (t) return fn(t.db);
  const db = await openPglite({ dataDir: join(tmp, "data") });
  try {
    await migrate(db);
    await fn(db);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url };
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
  }
  await withStorage((db) => recordInstallation(db, { id: 7, account: "acme" }, new Date()));
});
afterAll(async () => {
  await t?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("agent-gate token", { timeout: 120_000 }, () => {
  it("creates a token shown once, lists it without hash, and revokes it by prefix", async () => {
    const created = await run([
      "create",
      "--installation",
      "7",
      "--repo",
      "acme/web",
      "--kind",
      "deploy",
      "--expires",
      "30d",
      "--json",
    ]);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as {
      token: string;
      prefix: string;
      repos: string[];
      kinds: string[];
      state: string;
      expires_at: string;
    };
    expect(isWellFormedToken(token.token)).toBe(true);
    expect(token).toMatchObject({
      prefix: token.token.slice(0, 8),
      repos: ["acme/web"],
      kinds: ["deploy"],
      state: "active",
    });

    const listed = await run(["list", "--installation", "7", "--json"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token.token.slice(8));
    const tokens = (JSON.parse(listed.stdout) as { tokens: Record<string, unknown>[] }).tokens;
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ prefix: token.prefix, state: "active" });
    expect(Object.keys(tokens[0] ?? {})).not.toContain("sha256");

    const revoked = await run(["revoke", token.prefix]);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${token.prefix} (installation 7)\n` });
    const after = await run(["list", "--json"]);
    expect((JSON.parse(after.stdout) as { tokens: { state: string }[] }).tokens.map((row) => row.state)).toEqual([
      "revoked",
    ]);
    const again = await run(["revoke", token.prefix]);
    expect(again.code).toBe(2);
  });

  it("prints a plain token on stdout and says it is shown once on stderr", async () => {
    const created = await run(["create", "--installation", "7", "--admin"]);
    expect(created.code).toBe(0);
    expect(isWellFormedToken(created.stdout.trim())).toBe(true);
    expect(created.stderr).toContain("shown only this once");
  });

  it("refuses bad input with exit code 2 and an actionable message", async () => {
    const unknown = await run(["create", "--installation", "999"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("installation webhook");
    const badKind = await run(["create", "--installation", "7", "--kind", "delete", "--expires", "soon"]);
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain("--kind: delete is not one of deploy, commit, outreach");
    const badExpiry = await run(["create", "--installation", "7", "--expires", "soon"]);
    expect(badExpiry.stderr).toContain("--expires: must be a duration such as 90m, 12h, 30d or 1d12h");
    const tooShort = await run(["create", "--installation", "7", "--expires", "30s"]);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toContain("--expires: must be at least 1m");
  });

  it("accepts the durations the config accepts: 1m, 90m, 1d12h", async () => {
    for (const [text, ms] of [
      ["1m", 60_000],
      ["90m", 5_400_000],
      ["1d12h", 129_600_000],
    ] as const) {
      const before = Date.now();
      const created = await run(["create", "--installation", "7", "--expires", text, "--json"]);
      expect(created.code, created.stderr).toBe(0);
      const expires = Date.parse((JSON.parse(created.stdout) as { expires_at: string }).expires_at);
      expect(expires - before).toBeGreaterThanOrEqual(ms - 1000);
      expect(expires - before).toBeLessThan(ms + 30_000);
    }
  });

  it("names a token with --name and rotates it: same scope and name, the old one revoked at once", async () => {
    const badName = await run(["create", "--installation", "7", "--name", "release bot"]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("--name: must be 1-64 characters");
    const created = await run([
      "create",
      "--installation",
      "7",
      "--name",
      "release-bot",
      "--kind",
      "deploy",
      "--expires",
      "30d",
      "--json",
    ]);
    expect(created.code).toBe(0);
    const old = JSON.parse(created.stdout) as { token: string; prefix: string; name: string; expires_at: string };
    expect(old.name).toBe("release-bot");

    const rotated = await run(["rotate", old.prefix, "--json"]);
    expect(rotated.code).toBe(0);
    const fresh = JSON.parse(rotated.stdout) as {
      token: string;
      prefix: string;
      name: string;
      kinds: string[];
      expires_at: string;
      rotated_from: string;
      state: string;
    };
    expect(isWellFormedToken(fresh.token)).toBe(true);
    expect(fresh).toMatchObject({
      name: "release-bot",
      kinds: ["deploy"],
      expires_at: old.expires_at,
      rotated_from: old.prefix,
      state: "active",
    });
    expect(fresh.token).not.toBe(old.token);

    const listed = await run(["list", "--installation", "7", "--json"]);
    const rows = (JSON.parse(listed.stdout) as { tokens: { prefix: string; name: string; state: string }[] }).tokens;
    expect(rows.filter((row) => row.name === "release-bot").map((row) => [row.prefix, row.state])).toEqual([
      [old.prefix, "revoked"],
      [fresh.prefix, "active"],
    ]);
    const text = await run(["list", "--installation", "7"]);
    expect(text.stdout).toMatch(new RegExp(`^${fresh.prefix} +release-bot +7 +active `, "m"));
    const again = await run(["rotate", old.prefix]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`A live token with prefix ${old.prefix} was not found`);
  }, 300_000);
});
