import { execFile } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { main } from "../../src/cli.ts";

/** One run of the `agent-gate` CLI: its exit code and what it wrote. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const CLI_BIN = join(import.meta.dirname, "../../bin/agent-gate.js");

/**
 * A command's whole environment: the test runner's own, less what would point it at another store or key, plus
 * `extra`.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.AGENT_GATE_MIGRATION_DATABASE_URL;
  delete base.AGENT_GATE_KEYS;
  delete base.AGENT_GATE_DATA_DIR;
  return { ...base, ...extra };
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(typeof chunk === "string" ? chunk : chunk.toString("utf8"));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

/**
 * Run the CLI in this process: the same `main` bin/agent-gate.js runs, with the same arguments and environment,
 * its output captured; `env` is its whole environment (see `cliEnv`), and `cwd` its working directory for the
 * length of the command (a relative path or the default data dir resolves from it, as from a shell's). For tests
 * about what a command does; a test about the process itself (the bin, `.env`, signals, a closed pipe) runs it
 * with `runCliProcess`.
 */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  options: { cwd?: string } = {},
): Promise<CliRun> {
  const stdout = collector();
  const stderr = collector();
  const before = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  try {
    const code = await main(args, env, { stdout: stdout.stream, stderr: stderr.stream, stderrIsTTY: false });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    if (options.cwd) process.chdir(before);
  }
}

/** Run the compiled CLI as a child process, as a user's shell does; `env` is its whole environment. */
export function runCliProcess(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  options: { cwd?: string; timeout?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      { env, cwd: options.cwd, timeout: options.timeout ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
