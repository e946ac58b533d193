import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { openDatabase, openOwnerDatabase } from "../../src/db/open.ts";
import { readSettings } from "../../src/config/settings.ts";
import { migrate } from "../../src/db/migrate.ts";
import { dumpAllRows } from "../support/db-scan.ts";
import { readAudit } from "../../src/audit/log.ts";
import { startWebhookReceiver } from "../support/notify-standins.ts";
import { CLI_BIN, cliEnv, runCli, type CliRun } from "../support/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-cli-channels-"));
const KEYS = `k1:${randomBytes(32).toString("base64")}`;
const TOKEN = `xoxb-${randomBytes(12).toString("hex")}`;
const SIGNING = randomBytes(16).toString("hex");
const SMTP_PASS = randomBytes(8).toString("hex");
let t: TestDatabase | undefined;
let storage: NodeJS.ProcessEnv;

function run(args: string[]): Promise<CliRun> {
  return runCli(["channel", ...args], cliEnv({ ...storage, AGENT_GATE_KEYS: KEYS }));
}

/** `agent-gate channel …` as a child process with `input` on its standard input (the CLI reads fd 0 itself). */
function runWithStdin(args: string[], input: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      "node",
      [CLI_BIN, "channel", ...args],
      { env: cliEnv({ ...storage, AGENT_GATE_KEYS: KEYS }), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  if (backend() === "postgres") {
    t = await createTestDatabase();
    storage = { DATABASE_URL: t.url, AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl };
  } else {
    storage = { AGENT_GATE_DATA_DIR: join(tmp, "data") };
  }
  const db = await openDatabase(readSettings(storage).storage, { create: true });
  await migrate(db);
  await db.query(
    "INSERT INTO installations (id, account, created_at) VALUES (42, 'acme', now()) ON CONFLICT DO NOTHING",
  );
  await db.close();
}, 180_000);
afterAll(async () => {
  await t?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("agent-gate channel", { timeout: 180_000 }, () => {
  it("adds Slack (token from standard input), email (SMTP URL from a file) and a webhook (its secret printed once), lists them without secrets, removes one", async () => {
    // A process: the token is read from its standard input.
    const slack = await runWithStdin(
      [
        "add",
        "slack",
        "deploys",
        "--installation",
        "acme",
        "--token",
        "-",
        "--signing-secret",
        SIGNING,
        "--channel",
        "#deploys",
      ],
      `${TOKEN}\n`,
    );
    expect(slack).toMatchObject({ code: 0 });
    expect(slack.stdout).toContain("channel deploys (slack) added for installation 42");

    const file = join(tmp, "smtp-url");
    writeFileSync(file, `smtps://gate:${SMTP_PASS}@mail.example.test:465\n`, { mode: 0o600 });
    const email = await run([
      "add",
      "email",
      "oncall-mail",
      "--installation",
      "42",
      "--smtp-url-file",
      file,
      "--from",
      "gate@example.test",
      "--to",
      "a@example.test,b@example.test",
    ]);
    expect(email.code).toBe(0);

    const hook = await run([
      "add",
      "webhook",
      "oncall-hook",
      "--installation",
      "42",
      "--url",
      "https://hooks.example.test/agent-gate",
      "--json",
    ]);
    expect(hook.code).toBe(0);
    const added = JSON.parse(hook.stdout) as { channel: { name: string }; signing_secret: string };
    expect(added.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);

    const list = await run(["list", "--installation", "acme", "--json"]);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as { channels: { name: string; type: string }[] };
    expect(listed.channels.map((c) => [c.name, c.type])).toEqual([
      ["deploys", "slack"],
      ["oncall-hook", "webhook"],
      ["oncall-mail", "email"],
    ]);
    for (const secret of [TOKEN, SIGNING, SMTP_PASS, added.signing_secret]) expect(list.stdout).not.toContain(secret);

    const duplicate = await run([
      "add",
      "webhook",
      "oncall-hook",
      "--installation",
      "42",
      "--url",
      "https://hooks.example.test/x",
    ]);
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toContain("already exists");

    const removed = await run(["remove", "oncall-hook", "--installation", "42"]);
    expect(removed).toMatchObject({ code: 0, stdout: "channel oncall-hook removed\n" });

    // At rest: no secret in any row or audit event.
    const db = await openOwnerDatabase(readSettings(storage).storage, "a test that reads every row");
    try {
      const rows = await dumpAllRows(db);
      for (const secret of [TOKEN, SIGNING, SMTP_PASS, added.signing_secret]) expect(rows).not.toContain(secret);
      const events = await db.tenant(42, (tx) => readAudit(tx, 42));
      expect(
        events.filter((e) => e.action.startsWith("channel.")).map((e) => [e.action, (e.data as { name: string }).name]),
      ).toEqual([
        ["channel.added", "deploys"],
        ["channel.added", "oncall-mail"],
        ["channel.added", "oncall-hook"],
        ["channel.removed", "oncall-hook"],
      ]);
    } finally {
      await db.close();
    }
  });

  it("refuses bad input naming the flag, and adds nothing", async () => {
    const bad = await run([
      "add",
      "slack",
      "deploys2",
      "--installation",
      "42",
      "--token",
      "not-a-token",
      "--channel",
      "deploys",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--token");
    expect(bad.stderr).toContain("--signing-secret");
    expect(bad.stderr).toContain("--channel");
    const http = await run(["add", "teams", "t", "--installation", "42", "--url", "http://teams.example.test/hook"]);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain("https://");
    const unknown = await run(["list", "--installation", "nobody"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--installation");
  });

  it("tests a channel: a signed message reaches the receiver (exit 0); a refusal exits 1 naming the status", async () => {
    const receiver = await startWebhookReceiver();
    try {
      const added = await run(["add", "webhook", "probe", "--installation", "42", "--url", receiver.url, "--json"]);
      expect(added.code).toBe(0);
      receiver.setSecret((JSON.parse(added.stdout) as { signing_secret: string }).signing_secret);
      const ok = await run(["test", "probe", "--installation", "42"]);
      expect(ok).toMatchObject({ code: 0, stdout: "test message sent to probe\n" });
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.body.type).toBe("proposal.pending");
      receiver.setSecret(`whsec_${randomBytes(32).toString("base64")}`);
      const refused = await run(["test", "probe", "--installation", "42"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("test message to probe failed: HTTP 401");
    } finally {
      await receiver.close();
    }
  });
});
