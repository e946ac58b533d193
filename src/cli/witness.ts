import type { Command } from "commander";
import { ValidationError } from "../errors.ts";
import {
  addRepositoryWitness,
  addWitness,
  checkWitnessBranch,
  checkWitnessRepository,
  DEFAULT_WITNESS_BRANCH,
  removeWitness,
  witnessesOf,
} from "../audit/witnesses.ts";
import type { Witness } from "../audit/witness-store.ts";
import type { Database } from "../db/database.ts";
import { installationsOfRepository } from "../installations/directory.ts";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import type { CliContext } from "./context.ts";
import { jsonOutput } from "./snake-json.ts";

const ACTOR = "cli";

/**
 * `agent-gate witness add|list|remove`: the witnesses of an installation's
 * audit checkpoints: C2SP tlog-witnesses that cosign them, and branches of the
 * installation's repositories they are committed to.
 */
export function registerWitness(program: Command, ctx: CliContext): void {
  const witness = program
    .command("witness")
    .description(
      "Witnesses of an installation's audit log: C2SP tlog-witness endpoints that cosign each checkpoint, or a repository branch each checkpoint is committed to.",
    );
  const installation = async (text: string) => {
    checkInstallationForm(text);
    const db = await ctx.openDb();
    return { db, id: await resolveInstallation(db, text) };
  };

  witness
    .command("add <name>")
    .description(
      "Add a witness: every new checkpoint is sent to it (POST <url>/add-checkpoint) and its cosignature kept, or committed to a branch of --repo.",
    )
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--url <url>", "the tlog-witness URL (https; the prefix before /add-checkpoint)")
    .option("--key <vkey>", "the witness's verifier key in signed-note form, to check its cosignatures")
    .option(
      "--repo <owner/name>",
      "instead of --url: a repository of the installation; each checkpoint is committed to a branch of it",
    )
    .option("--branch <name>", `with --repo: the branch the checkpoints are committed to`, DEFAULT_WITNESS_BRANCH)
    .action(async (name: string, flags: AddFlags) => {
      if (flags.repo !== undefined) {
        await addRepository(name, flags);
        return;
      }
      if (flags.branch !== DEFAULT_WITNESS_BRANCH)
        throw new ValidationError([{ field: "--branch", message: "goes with --repo, not --url" }]);
      if (!flags.url)
        throw new ValidationError([
          {
            field: "--url",
            message: "is required: the witness's tlog-witness URL (or --repo <owner/name> for a repository witness)",
          },
        ]);
      if (!flags.key)
        throw new ValidationError([
          { field: "--key", message: "is required with --url: the witness's verifier key, to check its cosignatures" },
        ]);
      const { db, id } = await installation(flags.installation);
      await addWitness(db, id, { name, url: flags.url, vkey: flags.key }, ACTOR, ctx.now());
      ctx.out(`witness ${name} added for installation ${id}; the latest checkpoint goes to it with the next sweep`);
    });

  async function addRepository(name: string, flags: AddFlags): Promise<void> {
    if (flags.url !== undefined || flags.key !== undefined)
      throw new ValidationError([
        { field: "--repo", message: "names a repository witness: give --url and --key to another witness" },
      ]);
    const repository = checkWitnessRepository(flags.repo ?? "");
    const branch = checkWitnessBranch(flags.branch);
    const { db, id } = await installation(flags.installation);
    const repo = await repositoryOfInstallation(db, id, repository);
    await addRepositoryWitness(
      db,
      id,
      { name, repository: repo.full_name, repositoryId: repo.repo_id, branch },
      ACTOR,
      ctx.now(),
    );
    ctx.out(
      `witness ${name} added for installation ${id}; the latest checkpoint is committed to ${repo.full_name} on branch ${branch} with the next sweep (it needs Contents: write on that repository, see docs/permissions.md)`,
    );
  }

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
        ctx.out(`${w.name}  ${where(w)}  ${held(w)}  ${state}`);
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

interface AddFlags {
  installation: string;
  url?: string;
  key?: string;
  repo?: string;
  branch: string;
}

/** The repository among the installation's own: the App must be installed on it, in this installation. */
async function repositoryOfInstallation(
  db: Database,
  installationId: number,
  repository: string,
): Promise<{ repo_id: number; full_name: string }> {
  const covering = await installationsOfRepository(db, repository);
  const own = covering.find((r) => r.installation_id === installationId);
  if (own) return own;
  const others = covering.map((r) => r.installation_id);
  throw new ValidationError([
    {
      field: "--repo",
      message:
        others.length > 0
          ? `${repository} belongs to installation ${others.join(", ")}, not ${installationId}: a repository witness must be a repository of the same installation`
          : `${repository} is not a repository the App is installed on in installation ${installationId}: install the App on it (the installation's repository access), then add the witness`,
    },
  ]);
}

function where(w: Witness): string {
  return w.repository === null ? (w.url ?? "") : `${w.repository}@${w.branch ?? ""}`;
}

/** The size the witness holds of the size due; a repository witness names the commit that holds it. */
function held(w: Witness): string {
  const sizes = `${w.witnessed_size} of ${w.target_size}`;
  if (w.repository === null) return `cosigned ${sizes}`;
  return `committed ${sizes}${w.witnessed_commit === null ? "" : ` in ${w.witnessed_commit.slice(0, 12)}`}`;
}
