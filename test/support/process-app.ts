import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { npmStartCommand } from "./dist-app.ts";

export interface ProcessApp {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr. */
  output: string[];
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyAfterMs: number;
  /** Signal the app (SIGKILL: the whole process group at once) and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ProcessAppOptions {
  appId: number;
  secret: string;
  /** GitHub (or the fake) base, as `http://127.0.0.1:port`. */
  githubUrl: string;
  /** PostgreSQL URL; without it the process uses embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let cachedKey: string | undefined;
function privateKey(): string {
  cachedKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  return cachedKey;
}

/** The app as `npm start` runs it (node dist/main.js), in its own process, waited on until /readyz answers 200. */
export async function startProcessApp(o: ProcessAppOptions): Promise<ProcessApp> {
  // A port of the caller's choosing (GitHub's webhook URL kept across a restart), else a free one.
  const port = o.env?.PORT ? Number(o.env.PORT) : await freePort();
  const github = new URL(o.githubUrl);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    APP_ID: String(o.appId),
    PRIVATE_KEY: privateKey(),
    WEBHOOK_SECRET: o.secret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: github.protocol.replace(":", ""),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    AGENT_GATE_PUBLIC_URL: "https://gate.example.test",
    AGENT_GATE_KEYS: generateKeyEntry("k1"),
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
    ...(o.dataDir ? { AGENT_GATE_DATA_DIR: o.dataDir } : {}),
    ...o.env,
  };
  const started = performance.now();
  // Its own process group, so SIGKILL reaches the app and anything it started, as a kill of its container would.
  const [node, ...args] = npmStartCommand();
  // A working directory of its own: no developer's .env is loaded into the test's app.
  const cwd = mkdtempSync(join(tmpdir(), "agent-gate-process-"));
  const child = spawn(node!, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const kill = (signal: NodeJS.Signals) => {
    if (signal !== "SIGKILL") return child.kill(signal);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    return true;
  };
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + (o.readyTimeoutMs ?? 60_000);
  let readyAfterMs = -1;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}:\n${output.join("")}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) {
        readyAfterMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (readyAfterMs < 0) {
    kill("SIGKILL");
    throw new Error(`the app was not ready in time:\n${output.join("")}`);
  }
  return {
    url,
    child,
    output,
    readyAfterMs,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) kill(signal);
      await exited;
    },
  };
}
