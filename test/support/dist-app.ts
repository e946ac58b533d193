import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The compiled app and CLI (dist/, built by `npm ci` / `npm run build`) run as a user runs them: `npm start`'s
// command and the `agent-gate` bin, in a working directory of the test's choosing (its .env, its data dir).

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = `${ROOT}bin/agent-gate.js`;

/** `npm start`'s command (package.json scripts.start), with dist/ made absolute so it runs from any directory. */
/**
 * The environment `npm start` gets in a test that runs the app as a process: registered App credentials (a fresh
 * key), the GitHub stand-in at `githubUrl`, loopback only; `settings` adds or overrides the rest per start.
 */
export function appEnvFor(githubUrl: string, secret: string): (settings: Record<string, string>) => NodeJS.ProcessEnv {
  const key = generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  return (settings) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_ID: "4242",
    PRIVATE_KEY: key,
    WEBHOOK_SECRET: secret,
    GHE_HOST: new URL(githubUrl).host,
    GHE_PROTOCOL: "http",
    HOST: "127.0.0.1",
    ...settings,
  });
}

export function npmStartCommand(): string[] {
  const script = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { scripts: { start: string } }).scripts
    .start;
  // `exec`: the shell npm runs the script in becomes node, so npm's signals reach the app itself.
  const [command, ...args] = script.replace(/^exec /, "").split(" ");
  if (command !== "node" || args.length !== 1) throw new Error(`npm start is not \`exec node <file>\`: ${script}`);
  return [process.execPath, `${ROOT}${args[0]}`];
}

export interface Running {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function run(command: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `url` until it answers `status` (or the process exits, or 60 s pass). */
export async function waitFor(url: string, status: number, running: Running, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null)
      throw new Error(`the process exited with ${running.child.exitCode}:\n${running.output.join("")}`);
    const answered = await fetch(url).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    if (answered === status) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer ${status} in time:\n${running.output.join("")}`);
}
