import type { Command } from "commander";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import { jsonOutput } from "./snake-json.ts";
import { EXIT, type CliContext } from "./context.ts";
import { explainCommit } from "../explain/replay.ts";
import { installationsOfRepo, loadLatestCommitProposal, parsePullRef } from "../explain/load.ts";
import { renderExplanation } from "../explain/render.ts";

export function registerExplain(program: Command, ctx: CliContext): void {
  program
    .command("explain")
    .description(
      "Replay the latest recorded decision of a pull request through the policy and say why the gate is in its state.",
    )
    .argument("<pull>", "the pull request, as owner/repo#number")
    .option(
      `--installation ${INSTALLATION_ARG}`,
      "the installation the repository belongs to, by id or account login (default: as recorded from installation webhooks)",
    )
    .option("--json", "print the explanation as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 replay matches the record, 1 replay differs or cannot run, 2 bad input or no such proposal, 3 database unavailable.",
    )
    .action(async (pull: string, options: { json?: boolean; installation?: string }) => {
      const { repo, pr } = parsePullRef(pull);
      if (options.installation !== undefined) checkInstallationForm(options.installation);
      const db = await ctx.openDb();
      const [recorded] = await installationsOfRepo(db, repo);
      const installation = options.installation ? await resolveInstallation(db, options.installation) : recorded;
      const explanation = explainCommit(await loadLatestCommitProposal(db, repo, pr, installation));
      ctx.out(options.json ? jsonOutput(explanation, 2) : renderExplanation(explanation));
      if (explanation.matches !== true) ctx.exitWith(EXIT.failed);
    });
}
