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

/** Build the `agent-gate` program; `main` runs it. Tests drive it as a child process. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const opened: Database[] = [];
  let settings: Settings | undefined;
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
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    stderrIsTTY: () => process.stderr.isTTY === true,
    now: () => new Date(),
  };
  const program = new Command("agent-gate")
    .description("Agent Gate: make AI agents ask before they act.")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError();
  registerCommands(program, ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
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
            process.stderr.write(
              `agent-gate: closing the database failed: ${error instanceof Error ? error.message : String(error)}\n`,
            ),
          ),
      ),
    );
  }
}
