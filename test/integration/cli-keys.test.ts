import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Router } from "../../src/http/router.ts";
import { keysRoutes } from "../../src/api/keys-routes.ts";
import { generateKeyEntry, parseKeyring, resolveKeyring } from "../../src/crypto/keyring.ts";
import { signReceipt, type ReceiptPayload } from "../../src/crypto/receipts.ts";
import { openDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { currentSigner } from "../../src/keys/store.ts";
import { cliEnv, runCli, type CliRun } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-keys-"));
let t: TestDatabase | undefined;
/** Storage for the CLI's runs: a PGlite dir, or the test's PostgreSQL database. */
let storage: NodeJS.ProcessEnv;

/** One CLI command, in process, on the test's storage plus `env`. */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, cliEnv({ ...storage, ...env }));
}

beforeAll(async () => {
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url, AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl };
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
    // The CLI never creates a database: `migrate` (or the app's first start) does.
    expect((await run(["migrate"])).code).toBe(0);
  }
}, 180_000);
afterAll(async () => {
  await t?.drop();
});

const ENTRY_A = generateKeyEntry("ka");
const ENTRY_B = generateKeyEntry("kb");
const digest = "d".repeat(64);

function decision(expires: string): Omit<ReceiptPayload, "kid"> {
  return {
    v: 2,
    proposal_id: "prop_cli",
    redemption_id: "rdm_000000000000000000000001",
    installation_id: 9,
    repo: "octo/web",
    kind: "deploy",
    digest,
    decision: "approved",
    approvers: ["maintainer"],
    decided_at: "2026-11-23T00:00:00.000Z",
    redeemed_at: "2026-11-23T00:01:00.000Z",
    expires_at: expires,
  };
}

/** Sign with the key the CLI stored, opening the same storage once the command is done (and closing it after). */
async function signWithStoredKey(keys: string, expires: string): Promise<string> {
  const db = await openDatabase(readSettings(storage).storage);
  try {
    return signReceipt(decision(expires), await currentSigner(db, parseKeyring(keys), new Date()));
  } finally {
    await db.close();
  }
}

// On PGlite each command opens the data dir from disk: allow for it.
const slow = { timeout: 120_000 };

describe("agent-gate keys", slow, () => {
  it("generates a keyring entry", async () => {
    const result = await run(["keys", "generate"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^k\d{8}-[0-9a-f]{6}:[A-Za-z0-9+/]{43}=$/);
    expect(parseKeyring(result.stdout.trim()).current.key).toHaveLength(32);
    const named = await run(["keys", "generate", "--kid", "prod-2026"]);
    expect(named.stdout).toMatch(/^prod-2026:/);
    const bad = await run(["keys", "generate", "--kid", "no good"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/kid: must be 1-32 letters/);
  });

  it("documents keyring rotation in the rotate help", async () => {
    const result = await run(["keys", "rotate", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/on every replica add it as a second entry/);
    expect(result.stdout).toMatch(/refused while a running replica lacks NEW/);
  });

  it("lists no keys before the first one", async () => {
    const result = await run(["keys", "list"], { AGENT_GATE_KEYS: ENTRY_A });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/no signing keys yet/);
  });

  it("rotates signing keys and moves stored secrets to a prepended keyring key", async () => {
    const first = await run(["keys", "rotate", "--json"], { AGENT_GATE_KEYS: ENTRY_A });
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout) as {
      signing_key: string;
      retired: string[];
      resealed: number;
      keyring_key: string;
    };
    expect(one).toMatchObject({ retired: [], resealed: 0, keyring_key: "ka" });

    const second = await run(["keys", "rotate", "--json"], { AGENT_GATE_KEYS: `${ENTRY_B},${ENTRY_A}` });
    expect(second.code).toBe(0);
    const two = JSON.parse(second.stdout) as typeof one;
    expect(two).toMatchObject({ retired: [one.signing_key], resealed: 1, keyring_key: "kb" });
    expect(two.signing_key).not.toBe(one.signing_key);

    const listed = await run(["keys", "list", "--json"], { AGENT_GATE_KEYS: ENTRY_B });
    expect(listed.code).toBe(0);
    const keys = JSON.parse(listed.stdout) as { keys: { kid: string; status: string }[] };
    expect(keys.keys.map((key) => [key.kid, key.status])).toEqual([
      [two.signing_key, "current"],
      [one.signing_key, "retired"],
    ]);
    const text = await run(["keys", "list"], { AGENT_GATE_KEYS: ENTRY_B });
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^KID +STATUS +CREATED +PUBLIC KEY$/);
    expect(lines.find((line) => line.startsWith(one.signing_key))).toMatch(
      new RegExp(`^${one.signing_key} +retired +`),
    );

    // Every secret now opens under the new keyring key alone; the old key alone no longer suffices.
    const stale = await run(["keys", "rotate"], { AGENT_GATE_KEYS: ENTRY_A });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/key kb, which is not in AGENT_GATE_KEYS/);
    expect(stale.stderr).not.toContain(ENTRY_A.split(":")[1]);
  });

  it.runIf(backend() === "postgres")(
    "refuses to rotate on PostgreSQL without a keyring, saying what to set",
    async () => {
      const result = await run(["keys", "rotate"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/AGENT_GATE_KEYS is not set.*agent-gate keys generate/);
    },
  );

  it.runIf(backend() === "pglite")("creates a keyring file for the embedded database and says where", async () => {
    const dataDir = join(tmp, "fresh");
    expect((await run(["migrate"], { AGENT_GATE_DATA_DIR: dataDir })).code).toBe(0);
    const result = await run(["keys", "rotate"], { AGENT_GATE_DATA_DIR: dataDir });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(join(dataDir, "keyring"));
    expect(result.stdout).toMatch(/new signing key: sk\d{8}-/);
    const ring = resolveKeyring(undefined, { dataDir, embedded: true });
    const again = await run(["keys", "rotate", "--json"], { AGENT_GATE_DATA_DIR: dataDir });
    expect(JSON.parse(again.stdout)).toMatchObject({ keyring_key: ring.current.id, resealed: 0 });
  });
});

describe("agent-gate receipt verify", slow, () => {
  let server: Server | undefined;
  let keysFile: string;
  let valid: string;
  let expired: string;

  beforeAll(async () => {
    const listed = await run(["keys", "list", "--json"], { AGENT_GATE_KEYS: ENTRY_B });
    keysFile = join(tmp, "keys.json");
    writeFileSync(keysFile, listed.stdout);
    valid = await signWithStoredKey(ENTRY_B, "2099-01-01T00:00:00.000Z");
    expired = await signWithStoredKey(ENTRY_B, "2020-01-01T00:00:00.000Z");
  }, 120_000);
  afterAll(async () => {
    if (server) await new Promise((resolve) => server?.close(resolve));
  });

  it("exits 0 for a valid receipt", async () => {
    const result = await run([
      "receipt",
      "verify",
      valid,
      "--keys",
      keysFile,
      "--digest",
      digest,
      "--repo",
      "octo/web",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^valid: approved deploy octo\/web proposal prop_cli by maintainer/);
    const json = await run([
      "receipt",
      "verify",
      valid,
      "--keys",
      keysFile,
      "--digest",
      digest,
      "--repo",
      "octo/web",
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, payload: { proposal_id: "prop_cli", digest } });
  });

  it.each([
    ["a wrong digest", () => [valid, "e".repeat(64)], "receipt_digest_mismatch"],
    ["an expired receipt", () => [expired, digest], "receipt_expired"],
    ["a tampered receipt", () => [`${expired.split(".")[0]}.${valid.split(".")[1]}`, digest], "receipt_bad_signature"],
    ["garbage", () => ["not-a-receipt", digest], "receipt_malformed"],
    ["the same digest in a fork", () => [valid, digest, "mallory/web"], "receipt_repo_mismatch"],
    ["another kind", () => [valid, digest, "octo/web", "--kind", "outreach"], "receipt_kind_mismatch"],
    [
      "another installation",
      () => [valid, digest, "octo/web", "--installation", "10"],
      "receipt_installation_mismatch",
    ],
  ])("exits 1 for %s with the reason on stderr", async (_name, make, code) => {
    const [receipt, given, repo = "octo/web", ...rest] = make() as string[];
    const result = await run([
      "receipt",
      "verify",
      receipt!,
      "--keys",
      keysFile,
      "--digest",
      given!,
      "--repo",
      repo,
      ...rest,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`(${code})`);
    const json = await run([
      "receipt",
      "verify",
      receipt!,
      "--keys",
      keysFile,
      "--digest",
      given!,
      "--repo",
      repo,
      ...rest,
      "--json",
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, code });
  });

  it("fetches the keys from the app's keys.json URL", async () => {
    const db = await openDatabase(readSettings(storage).storage);
    const router = new Router().add(...keysRoutes(db));
    server = createServer((req, res) => {
      void router.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/agent-gate/keys.json`;
    try {
      // The route answers from the database opened here; the command only fetches (it opens no database).
      const result = await run(["receipt", "verify", valid, "--keys", url, "--digest", digest, "--repo", "octo/web"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^valid:/);
    } finally {
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
      await db.close();
    }
  });

  it("exits 2 when the keys file cannot be read", async () => {
    const result = await run([
      "receipt",
      "verify",
      valid,
      "--keys",
      join(tmp, "missing.json"),
      "--digest",
      digest,
      "--repo",
      "octo/web",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Could not read the keys file/);
  });
});
