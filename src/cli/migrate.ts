import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { openOwnerDatabase } from "../db/open.ts";
import { migrate } from "../db/migrate.ts";
import { setRetentionFloor } from "../audit/retention.ts";
import { jsonOutput } from "./snake-json.ts";
import { openOrUnavailable } from "./database-unavailable.ts";

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description(
      "Apply pending database migrations as the schema's owner (AGENT_GATE_MIGRATION_DATABASE_URL, else DATABASE_URL; the embedded database with the app stopped), and set the audit log's retention floor from AGENT_GATE_RETENTION_DAYS. The app also migrates at start.",
    )
    .option("--json", "print the applied migrations as JSON")
    .action(async (options: { json?: boolean }) => {
      // An unreachable database is explained (exit 3), as for the other commands.
      const db = await openOrUnavailable(() => openOwnerDatabase(ctx.settings().storage, "migrate", { create: true }));
      try {
        const applied = await openOrUnavailable(() => migrate(db));
        // The floor is the owner's to set: the app's login may only read it.
        await setRetentionFloor(db, ctx.settings().retentionDays);
        ctx.out(
          options.json
            ? jsonOutput({ applied })
            : applied.length
              ? `applied: ${applied.join(", ")}`
              : "schema is current",
        );
      } finally {
        await db.close();
      }
    });
}
