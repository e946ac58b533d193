import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { listInstallations, type InstallationView } from "../installations/directory.ts";
import { jsonOutput } from "./snake-json.ts";
import { renderTable } from "./table.ts";

function describe(view: InstallationView): Record<string, unknown> {
  return {
    id: view.id,
    account: view.account,
    state: view.state,
    repositories: view.repositories,
    recorded_at: view.created_at.toISOString(),
  };
}

export function registerInstallation(program: Command, ctx: CliContext): void {
  const installation = program
    .command("installation")
    .description("Installations of the GitHub App, as recorded from GitHub's installation webhooks.");

  installation
    .command("list")
    .description(
      "List installations: id, account, repositories and when each was recorded. `--installation` of other commands takes the id or the account.",
    )
    .option("--json", "print as JSON")
    .action(async (options: { json?: boolean }) => {
      const db = await ctx.openDb();
      const rows = (await listInstallations(db)).map(describe);
      if (options.json) {
        ctx.out(jsonOutput({ installations: rows }));
        return;
      }
      if (rows.length === 0) {
        ctx.out(
          "no installations recorded yet: install the App on a repository (GitHub sends the installation webhook)",
        );
        return;
      }
      ctx.out(
        renderTable(
          ["id", "account", "state", "repositories", "recorded"],
          rows.map((row) => [
            String(row.id),
            String(row.account),
            String(row.state),
            (row.repositories as string[]).join(",") || "none",
            String(row.recorded_at),
          ]),
        ),
      );
    });
}
