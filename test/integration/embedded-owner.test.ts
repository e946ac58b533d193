import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort } from "../support/process-app.ts";
import { deliverTo } from "../support/deliver.ts";
import { example } from "../support/app.ts";
import { npmStartCommand, run, waitFor, type Running } from "../support/dist-app.ts";
import { runCli } from "../support/cli.ts";

// One owner of the embedded database: while the app runs, the CLI works through the app's socket, so what it
// writes is the app's at once and survives a restart; without the app the CLI opens the data dir itself; a
// second app on the same data dir is refused, naming the process that holds it; a dead holder's lock is taken over.
// The app runs as `npm start` does; the CLI runs in the test's process, which is another process than the app's.

const SECRET = "embedded-owner-secret";

describe.runIf(backend() === "pglite")("the embedded database has one owner", { timeout: 240_000 }, () => {
  let fake: GitHubFake;
  let tmp: string;
  let dataDir: string;
  const running: Running[] = [];
  let env: (port: number) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await GitHubFake.start();
    tmp = mkdtempSync(join(tmpdir(), "agent-gate-owner-"));
    dataDir = join(tmp, "data");
    const github = new URL(fake.url);
    const key = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString();
    env = (port) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_ID: "4242",
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      AGENT_GATE_DATA_DIR: dataDir,
    });
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop("SIGKILL")));
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const start = async (port: number) => {
    const app = run(npmStartCommand(), tmp, env(port));
    running.push(app);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
    return app;
  };
  const cli = (args: string[], dir: string, env: NodeJS.ProcessEnv) => runCli(args, env, { cwd: dir });
  const accepted = async (port: number, token: string) =>
    (
      await fetch(`http://127.0.0.1:${port}/api/v1/proposals/prp_00000000000000000000`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;

  it("a CLI command refuses to create the database and names the one it looked for", async () => {
    const listed = await cli(["token", "list"], tmp, env(0));
    expect(listed.code).toBe(3);
    expect(listed.stderr).toContain(`No embedded database in ${dataDir}`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("keeps what the CLI writes while the app runs, across a restart, and refuses a second app", async () => {
    const port = await freePort();
    const app = await start(port);
    expect(
      (await deliverTo(`http://127.0.0.1:${port}`, SECRET, "installation", example("installation", "created", 7)))
        .status,
    ).toBe(200);

    const created = await cli(["token", "create", "--installation", "7", "--json"], tmp, env(0));
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    // At once: the token is in the app's own database.
    expect(await accepted(port, token)).toBe(404);
    expect(await accepted(port, `${token.slice(0, -6)}AAAAAA`)).toBe(401);
    // More commands through the app's socket: PGlite has one session, shared by the app and every
    // command, so a statement one of them prepared must not be "already exists" to the next.
    const another = await cli(["token", "create", "--installation", "7", "--name", "second", "--json"], tmp, env(0));
    expect(another.code, another.stderr).toBe(0);
    const whileRunning = await cli(["token", "list", "--json"], tmp, env(0));
    expect(whileRunning.code, whileRunning.stderr).toBe(0);
    expect((JSON.parse(whileRunning.stdout) as { tokens: unknown[] }).tokens).toHaveLength(2);

    const second = run(npmStartCommand(), tmp, env(await freePort()));
    running.push(second);
    expect(await second.exited).toBe(1);
    expect(second.output.join("")).toContain(
      `The embedded database in ${dataDir} is in use by process ${app.child.pid}`,
    );

    expect(await app.stop("SIGTERM")).toBe(0);
    expect(existsSync(join(dataDir, "agent-gate.lock"))).toBe(false);

    // No app: the CLI opens the data dir itself.
    const listed = await cli(["token", "list", "--json"], tmp, env(0));
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { tokens: { prefix: string }[] }).tokens.map((row) => row.prefix)).toContain(
      token.slice(0, 8),
    );

    // A lock left by a process that is gone is taken over.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(dataDir, "agent-gate.lock"), JSON.stringify({ pid: Number(dead.stdout) }));
    const restarted = await start(port);
    expect(await accepted(port, token)).toBe(404);
    expect(JSON.parse(readFileSync(join(dataDir, "agent-gate.lock"), "utf8"))).toMatchObject({
      pid: restarted.child.pid,
    });
    // A second token through the restarted app, and it is usable at once too.
    const again = await cli(["token", "create", "--installation", "7", "--json"], tmp, env(0));
    expect(again.code, again.stderr).toBe(0);
    expect(await accepted(port, (JSON.parse(again.stdout) as { token: string }).token)).toBe(404);
    expect(await restarted.stop("SIGTERM")).toBe(0);
  });
});
