import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { openDatabase } from "../db/open.ts";
import { migrate } from "../db/migrate.ts";
import { jsonOutput } from "./snake-json.ts";

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("Apply pending database migrations (the app also does this at start).")
    .option("--json", "print the applied migrations as JSON")
    .action(async (options: { json?: boolean }) => {
      const db = await openDatabase(ctx.settings().storage, { create: true });
      try {
        const applied = await migrate(db);
        ctx.out(options.json ? jsonOutput({ applied }) : applied.length ? `applied: ${applied.join(", ")}` : "schema is current");
      } finally {
        await db.close();
      }
    });
}
