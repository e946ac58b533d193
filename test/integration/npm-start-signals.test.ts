import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { freePort } from "../support/process-app.ts";
import { ROOT } from "../support/dist-app.ts";
import { LOCK_FILE } from "../../src/db/lock.ts";

// A supervisor stops `npm start` by signalling npm, not the app under it. The app must go with npm (its
// embedded database's lock released), whether npm forwards the signal (SIGTERM) or dies at once (SIGKILL).
// `npm start` runs here exactly as package.json says, from a working directory of the test's own.

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function npmStart() {
  const cwd = mkdtempSync(join(tmpdir(), "agent-gate-npm-start-"));
  dirs.push(cwd);
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } })
    .scripts.start;
  writeFileSync(
    join(cwd, "package.json"),
    JSON.stringify({
      name: "npm-start-signals",
      private: true,
      scripts: { start: script.replace("dist/", `${ROOT}dist/`) },
    }),
  );
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_ID: "4242",
    PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString(),
    WEBHOOK_SECRET: "npm-start-signals-secret",
    GHE_HOST: "127.0.0.1:9",
    GHE_PROTOCOL: "http",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    AGENT_GATE_DATA_DIR: join(cwd, "data"),
    AGENT_GATE_RECOVERY_INTERVAL_MS: "0",
    AGENT_GATE_RECONCILE_INTERVAL_MS: "0",
  };
  const npm = spawn("npm", ["start", "--silent"], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  npm.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  npm.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
  const listening = await until(() => /"msg":"Agent Gate is listening"/.test(output.join("")), 90_000);
  expect(listening, output.join("")).toBe(true);
  const line = output
    .join("")
    .split("\n")
    .find((text) => text.includes('"msg":"Agent Gate is listening"'))!;
  const appPid = (JSON.parse(line) as { pid: number }).pid;
  expect(appPid).not.toBe(npm.pid);
  const lock = join(env.AGENT_GATE_DATA_DIR!, LOCK_FILE);
  expect(existsSync(lock)).toBe(true);
  return { npm, appPid, lock, exited, output, url: `http://127.0.0.1:${port}` };
}

describe.runIf(backend() === "pglite")("npm start under a supervisor", { timeout: 240_000 }, () => {
  it("SIGTERM to npm stops the app and releases the embedded database's lock", async () => {
    const started = await npmStart();
    expect((await fetch(`${started.url}/readyz`)).status).toBe(200);
    started.npm.kill("SIGTERM");
    expect(await until(() => !alive(started.appPid), 30_000), started.output.join("")).toBe(true);
    await started.exited;
    expect(existsSync(started.lock)).toBe(false);
    expect(started.output.join("")).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
  });

  it("SIGKILL to npm stops the app too: it watches its parent", async () => {
    const started = await npmStart();
    started.npm.kill("SIGKILL");
    await started.exited;
    expect(await until(() => !alive(started.appPid), 30_000)).toBe(true);
    expect(existsSync(started.lock)).toBe(false);
  });
});
