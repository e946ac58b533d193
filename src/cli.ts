import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import type { Database } from "./db/database.ts";
import { openDatabase } from "./db/open.ts";
import { readSettings, type Settings } from "./config/settings.ts";
import { GateError } from "./errors.ts";
import { EXIT, type CliContext } from "./cli/context.ts";
import { registerCommands } from "./cli/commands.ts";
import { openOrUnavailable } from "./cli/database-unavailable.ts";

/** The package's version, from package.json beside src/ and dist/. */
export const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Where a run of the CLI writes: the process's own stdout and stderr, unless a caller passes others. */
export interface CliIo {
  stdout: Pick<NodeJS.WritableStream, "write">;
  stderr: Pick<NodeJS.WritableStream, "write">;
  stderrIsTTY: boolean;
}

const PROCESS_IO: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  get stderrIsTTY() {
    return process.stderr.isTTY === true;
  },
};

/**
 * Build the `agent-gate` program and run it once; resolves to the exit code. bin/agent-gate.js runs it with the
 * process's streams; tests that are not about the process run it in theirs, with their own `io`.
 */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = PROCESS_IO,
): Promise<number> {
  const opened: Database[] = [];
  let settings: Settings | undefined;
  let exitCode: number = EXIT.ok;
  const line = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);
  const ctx: CliContext = {
    env,
    settings: () => (settings ??= readSettings(env)),
    openDb: () =>
      openOrUnavailable(async () => {
        // Never creates one: a mistyped DATABASE_URL or data dir is refused, naming what was looked for.
        const db = await openDatabase(ctx.settings().storage, { migrate: () => {} });
        opened.push(db);
        return db;
      }),
    out: (text) => void io.stdout.write(line(text)),
    err: (text) => void io.stderr.write(line(text)),
    write: (chunk) =>
      new Promise((resolve, reject) => {
        io.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
      }),
    progress: (text) => void io.stderr.write(text),
    exitWith: (code) => {
      exitCode = code;
    },
    stderrIsTTY: () => io.stderrIsTTY,
    now: () => new Date(),
  };
  const program = new Command("agent-gate")
    .description("Agent Gate: make AI agents ask before they act.")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .showHelpAfterError();
  registerCommands(program, ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof GateError) {
      ctx.err(`error: ${error.message}`);
      return error.status === 503 ? EXIT.unavailable : error.status >= 500 ? EXIT.failed : EXIT.usage;
    }
    ctx.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  } finally {
    await Promise.all(
      opened.map((db) =>
        db
          .close()
          .catch((error: unknown) =>
            io.stderr.write(
              `agent-gate: closing the database failed: ${error instanceof Error ? error.message : String(error)}\n`,
            ),
          ),
      ),
    );
  }
}
