import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../src/audit/log.ts";
import { exportAudit, type AuditExport } from "../../src/audit/export.ts";
import { writeExportFile } from "../../src/audit/export-file.ts";
import { migrate } from "../../src/db/migrate.ts";
import { openDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { signCheckpoint } from "../../src/audit/checkpoint.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { CLI_BIN, runCli, runCliProcess, type CliRun } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";

const now = new Date("2026-11-23T10:00:00.000Z");
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(5));
const signer: Signer = { keyId: "cli-key", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "cli-key",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: now.toISOString(),
    },
  ],
};

let t: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), "agent-gate-audit-cli-"));
const file = (name: string) => join(dir, name);

/** The CLI in this process, with `env` and PATH as its whole environment. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { PATH: process.env.PATH, ...env });
}

beforeAll(async () => {
  t = await createTestDatabase();
  for (let i = 0; i < 12; i += 1) {
    await t.db.tenant(61, (tx) => appendAudit(tx, 61, { action: "test.cli", outcome: "ok", data: { i } }, now));
  }
  const out = exportAudit(t.db, { installationId: 61, format: "jsonl" }, signer, now);
  let body = "";
  for await (const chunk of out.body) body += chunk;
  writeFileSync(file("good.jsonl"), body);
  writeFileSync(file("manifest.json"), JSON.stringify(await out.manifest));
  writeFileSync(file("keys.json"), JSON.stringify(keys));
  const lines = body.split("\n").slice(0, -1);
  writeFileSync(file("deleted.jsonl"), `${lines.filter((_, i) => i !== 6).join("\n")}\n`);
  writeFileSync(file("cut.jsonl"), `${lines.slice(0, 10).join("\n")}\n`);
});
afterAll(async () => {
  await t.drop();
});

describe("agent-gate audit verify", () => {
  it("exits 0 for an intact export", async () => {
    const run = await cli([
      "audit",
      "verify",
      file("good.jsonl"),
      "--manifest",
      file("manifest.json"),
      "--keys",
      file("keys.json"),
    ]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("ok: 12 events verified");
  });

  it("exits 1 naming the first bad line of a deleted line or a cut tail", async () => {
    const deleted = await cli([
      "audit",
      "verify",
      file("deleted.jsonl"),
      "--manifest",
      file("manifest.json"),
      "--keys",
      file("keys.json"),
      "--json",
    ]);
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ ok: false, line: 7 });
    const cut = await cli([
      "audit",
      "verify",
      file("cut.jsonl"),
      "--manifest",
      file("manifest.json"),
      "--keys",
      file("keys.json"),
    ]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain("FAULT at line 11: export ends after 10 events; the manifest lists 12");
  });

  it("checks a signed checkpoint note: exit 0 intact, 1 altered", async () => {
    const note = signCheckpoint({ installationId: 61, size: 12, root: "ab".repeat(32) }, signer);
    writeFileSync(file("note.txt"), note);
    writeFileSync(file("forged.txt"), note.replace("\n12\n", "\n13\n"));
    const good = await cli(["audit", "checkpoint", "--verify", file("note.txt"), "--keys", file("keys.json")]);
    expect(good).toMatchObject({ code: 0 });
    expect(good.stdout).toContain("tree size 12");
    const forged = await cli(["audit", "checkpoint", "--verify", file("forged.txt"), "--keys", file("keys.json")]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain("does not verify");
  });

  it("exits 2 when the keys file is not keys.json", async () => {
    const run = await cli([
      "audit",
      "verify",
      file("good.jsonl"),
      "--manifest",
      file("manifest.json"),
      "--keys",
      file("manifest.json"),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("keys.json");
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL || process.env.TEST_BACKEND !== "postgres")(
  "agent-gate audit export",
  () => {
    it("writes the body to stdout and a manifest that verifies against the served keys", async () => {
      const env = {
        DATABASE_URL: t.url,
        AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(1)).toString("base64")}`,
      };
      const run = await cli(["audit", "export", "--installation", "61", "--manifest", file("cli-manifest.json")], env);
      expect(run.code).toBe(0);
      expect(run.stdout.split("\n")).toHaveLength(13);
      expect(run.stderr).toContain("exported 12 events");
      writeFileSync(file("cli.jsonl"), run.stdout);
      writeFileSync(file("served-keys.json"), JSON.stringify(await publishedKeys(t.db)));
      const manifest = JSON.parse(readFileSync(file("cli-manifest.json"), "utf8")) as { count: number; kid: string };
      expect(manifest.count).toBe(12);
      const verify = await cli([
        "audit",
        "verify",
        file("cli.jsonl"),
        "--manifest",
        file("cli-manifest.json"),
        "--keys",
        file("served-keys.json"),
      ]);
      expect(verify).toMatchObject({ code: 0 });
    });

    it("prints a checkpoint of the head that verifies", async () => {
      const env = {
        DATABASE_URL: t.url,
        AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(1)).toString("base64")}`,
      };
      const run = await cli(["audit", "checkpoint", "--installation", "61"], env);
      expect(run.code).toBe(0);
      expect(run.stdout.split("\n").slice(0, 2)).toEqual(["agent-gate/audit/61", "12"]);
      writeFileSync(file("head.txt"), run.stdout);
      const verify = await cli([
        "audit",
        "checkpoint",
        "--verify",
        file("head.txt"),
        "--keys",
        file("served-keys.json"),
      ]);
      expect(verify).toMatchObject({ code: 0 });
    });

    it("proves an event's inclusion, and verify --checkpoint refuses an export that no longer reaches a kept checkpoint", async () => {
      const env = {
        DATABASE_URL: t.url,
        AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(1)).toString("base64")}`,
      };
      for (let i = 0; i < 5; i += 1)
        await t.db.tenant(64, (tx) => appendAudit(tx, 64, { action: "test.prove", outcome: "ok", data: { i } }, now));
      const exported = await cli(
        ["audit", "export", "--installation", "64", "--manifest", file("64-m.json"), "--output", file("64.jsonl")],
        env,
      );
      expect(exported.code).toBe(0);
      const kept = await cli(["audit", "checkpoint", "--installation", "64"], env);
      expect(kept.code).toBe(0);
      writeFileSync(file("kept.txt"), kept.stdout);
      const [event] = await t.db.tenant(64, (tx) =>
        tx.query<{ hash: string }>("SELECT hash FROM audit_events WHERE installation_id = 64 AND seq = 3"),
      );
      const prove = await cli(["audit", "prove", "--installation", "64", "--event", event!.hash], env);
      expect(prove.code).toBe(0);
      writeFileSync(file("proof.json"), prove.stdout);
      expect(JSON.parse(prove.stdout)).toMatchObject({ leaf_index: 2, event_hash: event!.hash });
      writeFileSync(file("keys-64.json"), JSON.stringify(await publishedKeys(t.db)));
      expect(
        await cli(["audit", "prove", "--verify", file("proof.json"), "--keys", file("keys-64.json")]),
      ).toMatchObject({ code: 0 });
      const forged = JSON.parse(prove.stdout) as { leaf_index: number };
      writeFileSync(file("forged-proof.json"), JSON.stringify({ ...forged, leaf_index: forged.leaf_index + 1 }));
      expect(
        (await cli(["audit", "prove", "--verify", file("forged-proof.json"), "--keys", file("keys-64.json")])).code,
      ).toBe(1);
      const intact = await cli([
        "audit",
        "verify",
        file("64.jsonl"),
        "--manifest",
        file("64-m.json"),
        "--keys",
        file("keys-64.json"),
        "--checkpoint",
        file("kept.txt"),
      ]);
      expect(intact.stdout).toContain("extends the checkpoint");
      // An export that does not reach a checkpoint the verifier holds is refused (a cut tail looks like this).
      await t.db.tenant(64, (tx) => appendAudit(tx, 64, { action: "test.prove", outcome: "ok" }, now));
      const later = await cli(["audit", "checkpoint", "--installation", "64"], env);
      writeFileSync(file("later.txt"), later.stdout);
      const short = await cli([
        "audit",
        "verify",
        file("64.jsonl"),
        "--manifest",
        file("64-m.json"),
        "--keys",
        file("keys-64.json"),
        "--checkpoint",
        file("later.txt"),
      ]);
      expect(short.code).toBe(1);
      expect(short.stderr).toContain("does not extend the checkpoint");
    });

    it("refuses a missing --manifest and a bad filter with exit 2", async () => {
      expect((await cli(["audit", "export", "--installation", "61"], { DATABASE_URL: t.url })).code).toBe(2);
      const bad = await cli(
        ["audit", "export", "--installation", "61", "--manifest", file("x.json"), "--since", "soon"],
        { DATABASE_URL: t.url },
      );
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("since");
    });
  },
);

describe("writing an export to a file", () => {
  it("writes the body atomically, mode 0600, telling the events written chunk by chunk; audit verify accepts it", async () => {
    for (let i = 0; i < 130; i += 1) {
      await t.db.tenant(62, (tx) => appendAudit(tx, 62, { action: "test.file", outcome: "ok", data: { i } }, now));
    }
    const target = file("62.jsonl");
    const heard: number[] = [];
    const manifest = await writeExportFile(
      exportAudit(t.db, { installationId: 62, format: "jsonl" }, signer, now),
      target,
      (events) => heard.push(events),
    );
    expect(heard).toEqual([64, 128, 130]);
    expect(manifest.count).toBe(130);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, "utf8").split("\n")).toHaveLength(131);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    writeFileSync(file("62-manifest.json"), JSON.stringify(manifest));
    const verify = await cli([
      "audit",
      "verify",
      target,
      "--manifest",
      file("62-manifest.json"),
      "--keys",
      file("keys.json"),
    ]);
    expect(verify).toMatchObject({ code: 0 });
    expect(verify.stdout).toContain("ok: 130 events verified");
  });

  it("leaves the file as it was and no temporary file when the export fails part-way", async () => {
    const target = file("kept.jsonl");
    writeFileSync(target, "the previous export\n");
    const real = exportAudit(t.db, { installationId: 62, format: "jsonl" }, signer, now);
    // The database goes away after the first chunk.
    const failing: AuditExport = {
      ...real,
      body: (async function* () {
        for await (const chunk of real.body) {
          yield chunk;
          throw new Error("connection lost");
        }
      })(),
    };
    await expect(writeExportFile(failing, target)).rejects.toThrow("connection lost");
    expect(readFileSync(target, "utf8")).toBe("the previous export\n");
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    await expect(
      writeExportFile(
        exportAudit(t.db, { installationId: 62, format: "jsonl" }, signer, now),
        join(dir, "missing", "x.jsonl"),
      ),
    ).rejects.toThrow("check that its directory exists");
  });
});

// The CLI on the same kind of storage as the other CLI tests: a PGlite data dir, or PostgreSQL.
describe("agent-gate audit export --output", { timeout: 120_000 }, () => {
  // The keyring of the export tests above: on PostgreSQL they share the database and its signing key.
  const env: NodeJS.ProcessEnv = {
    AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(1)).toString("base64")}`,
  };
  beforeAll(async () => {
    if (backend() === "postgres") {
      Object.assign(env, { DATABASE_URL: t.url });
      return;
    }
    Object.assign(env, { AGENT_GATE_DATA_DIR: join(dir, "data") });
    const db = await openDatabase(readSettings(env).storage, { create: true });
    try {
      await migrate(db);
      for (let i = 0; i < 12; i += 1)
        await db.tenant(61, (tx) => appendAudit(tx, 61, { action: "test.cli", outcome: "ok", data: { i } }, now));
    } finally {
      await db.close();
    }
  }, 120_000);

  it("writes the body to the file, nothing to stdout and no progress when stderr is not a terminal; audit verify verifies it", async () => {
    // A process: whether its stderr is a terminal is the process's own (a pipe here).
    const run = await runCliProcess(
      [
        "audit",
        "export",
        "--installation",
        "61",
        "--manifest",
        file("out-manifest.json"),
        "--output",
        file("out.jsonl"),
      ],
      { PATH: process.env.PATH, ...env },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `exported 12 events to ${file("out.jsonl")}; manifest in ${file("out-manifest.json")} (key ${JSON.parse(readFileSync(file("out-manifest.json"), "utf8")).kid})\n`,
    );
    expect(statSync(file("out.jsonl")).mode & 0o777).toBe(0o600);
    const keysRun = await cli(["keys", "list", "--json"], env);
    writeFileSync(file("out-keys.json"), keysRun.stdout);
    const verify = await cli([
      "audit",
      "verify",
      file("out.jsonl"),
      "--manifest",
      file("out-manifest.json"),
      "--keys",
      file("out-keys.json"),
    ]);
    expect(verify).toMatchObject({ code: 0 });
    expect(verify.stdout).toContain("ok: 12 events verified");
  });

  it.skipIf(!existsSync("/usr/bin/script"))(
    "shows the events written on stderr when it is a terminal (script(1) gives it one)",
    async () => {
      // A process: script(1) gives its stderr a terminal.
      const command = [
        process.execPath,
        CLI_BIN,
        "audit",
        "export",
        "--installation",
        "61",
        "--manifest",
        file("tty-manifest.json"),
        "--output",
        file("tty.jsonl"),
      ]
        .map((arg) => `'${arg}'`)
        .join(" ");
      const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          "script",
          ["-qec", command, "/dev/null"],
          { env: { PATH: process.env.PATH, ...env } },
          (error, stdout) => {
            resolve({ code: error ? Number(error.code ?? 1) : 0, stdout });
          },
        );
      });
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain(`\rwrote 12 events to ${file("tty.jsonl")}`);
      expect(run.stdout).toContain("exported 12 events to");
      expect(readFileSync(file("tty.jsonl"), "utf8").split("\n")).toHaveLength(13);
    },
  );
});
