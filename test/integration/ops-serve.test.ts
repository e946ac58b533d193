import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";

const BIN = join(import.meta.dirname, "../../bin/agent-gate.js");
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

function baseEnv(port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_ID: "4242",
    PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString(),
    WEBHOOK_SECRET: "serve-test-secret",
    GHE_HOST: "127.0.0.1:9",
    GHE_PROTOCOL: "http",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    AGENT_GATE_KEYS: generateKeyEntry("k1"),
    DATABASE_URL: t.url,
  };
}

// One child process that opens the database: PostgreSQL, where it costs little.
describe.runIf(backend() === "postgres")("agent-gate serve", { timeout: 120_000 }, () => {
  it("serves health, readiness and metrics, and exits 0 on SIGTERM", async () => {
    // PORT=0: the system picks a free port, which the app logs when it listens.
    const child = spawn("node", [BIN, "serve"], {
      env: { ...baseEnv(0), LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let url: string | undefined;
      let ready = false;
      for (let i = 0; i < 600 && !ready && child.exitCode === null; i += 1) {
        url ??= /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"Agent Gate is listening"/.exec(output.join(""))?.[1];
        if (url)
          ready = await fetch(`${url}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready, output.join("")).toBe(true);
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain("agent_gate_outbox_depth 0");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("exits 1 with the reason when it cannot start", async () => {
    const env = { ...baseEnv(0), WEBHOOK_SECRET: "" };
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile("node", [BIN, "serve"], { env, timeout: 60_000 }, (error, _stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stderr });
      });
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/WEBHOOK_SECRET is not set/);
  });
});
