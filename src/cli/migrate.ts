import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { openDatabase } from "../db/open.ts";
import { migrate } from "../db/migrate.ts";
import { jsonOutput } from "./snake-json.ts";
import { openOrUnavailable } from "./database-unavailable.ts";

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("Apply pending database migrations (the app also does this at start).")
    .option("--json", "print the applied migrations as JSON")
    .action(async (options: { json?: boolean }) => {
      // An unreachable database is explained (exit 3), as for the other commands.
      const db = await openOrUnavailable(() => openDatabase(ctx.settings().storage, { create: true }));
      try {
        const applied = await openOrUnavailable(() => migrate(db));
        ctx.out(options.json ? jsonOutput({ applied }) : applied.length ? `applied: ${applied.join(", ")}` : "schema is current");
      } finally {
        await db.close();
      }
    });
}
