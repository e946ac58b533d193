import type { Command } from "commander";
import type { CliContext } from "./context.ts";

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description(
      "Run the app (webhooks, API, outbox worker), as `npm start` does; configured by environment variables (see .env.example).",
    )
    .addHelpText(
      "after",
      "\nStops on SIGINT or SIGTERM with exit code 0; exits 1 when it cannot start (the reason is on stderr).",
    )
    .action(async () => {
      // Loaded only to serve: Probot and the server are most of the CLI's start-up time.
      const { start } = await import("../start.ts");
      await start(ctx.env);
    });
}
