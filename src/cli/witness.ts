import type { Command } from "commander";
import { ValidationError } from "../errors.ts";
import { addWitness, removeWitness, witnessesOf } from "../audit/witnesses.ts";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import type { CliContext } from "./context.ts";
import { jsonOutput } from "./snake-json.ts";

const ACTOR = "cli";

/** `agent-gate witness add|list|remove`: the C2SP tlog-witnesses that cosign an installation's audit checkpoints. */
export function registerWitness(program: Command, ctx: CliContext): void {
  const witness = program
    .command("witness")
    .description("Witnesses of an installation's audit log: C2SP tlog-witness endpoints that cosign each checkpoint.");
  const installation = async (text: string) => {
    checkInstallationForm(text);
    const db = await ctx.openDb();
    return { db, id: await resolveInstallation(db, text) };
  };

  witness
    .command("add <name>")
    .description(
      "Add a witness: every new checkpoint is sent to it (POST <url>/add-checkpoint) and its cosignature kept.",
    )
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--url <url>", "the tlog-witness URL (https; the prefix before /add-checkpoint)")
    .option("--key <vkey>", "the witness's verifier key in signed-note form, to check its cosignatures")
    .option("--repo <owner/name>", "a repository whose branch keeps the checkpoints (not available yet)")
    .action(async (name: string, flags: { installation: string; url?: string; key?: string; repo?: string }) => {
      if (flags.repo !== undefined) {
        throw new ValidationError([
          {
            field: "--repo",
            message: "a repository witness is not available in this version; use --url with a C2SP tlog-witness",
          },
        ]);
      }
      if (!flags.url)
        throw new ValidationError([{ field: "--url", message: "is required: the witness's tlog-witness URL" }]);
      if (!flags.key)
        throw new ValidationError([
          { field: "--key", message: "is required with --url: the witness's verifier key, to check its cosignatures" },
        ]);
      const { db, id } = await installation(flags.installation);
      await addWitness(db, id, { name, url: flags.url, vkey: flags.key }, ACTOR, ctx.now());
      ctx.out(`witness ${name} added for installation ${id}; the latest checkpoint goes to it with the next sweep`);
    });

  witness
    .command("list")
    .description("Show an installation's witnesses: the size each holds, and any refusal.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--json", "print the witnesses as JSON")
    .action(async (flags: { installation: string; json?: boolean }) => {
      const { db, id } = await installation(flags.installation);
      const list = await witnessesOf(db, id);
      if (flags.json) {
        ctx.out(jsonOutput({ witnesses: list }));
        return;
      }
      if (list.length === 0) ctx.out("no witnesses");
      for (const w of list) {
        const state = w.refused_at
          ? `REFUSED ${w.refused_at.toISOString()}: ${w.refused_reason ?? ""}`
          : w.last_error
            ? `retrying: ${w.last_error}`
            : "ok";
        ctx.out(`${w.name}  ${w.url}  cosigned ${w.witnessed_size} of ${w.target_size}  ${state}`);
      }
    });

  witness
    .command("remove <name>")
    .description("Remove a witness (its cosignatures are kept); re-add it to send to it again after a refusal.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .action(async (name: string, flags: { installation: string }) => {
      const { db, id } = await installation(flags.installation);
      await removeWitness(db, id, name, ACTOR, ctx.now());
      ctx.out(`witness ${name} removed for installation ${id}`);
    });
}
