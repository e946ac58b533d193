import type { Context } from "probot";
import type { GitHubClient } from "./client.ts";
import { narrowFrom, narrowFromNamed, type NarrowOptions } from "./narrowed.ts";
import { yamlProblem, type ConfigRead } from "./config-text.ts";

export const CONFIG_FILE = "agent-gate.yml";

/** The repository whose config is read: names for the paths, the id for its narrowed token. */
export interface ConfigRepo {
  owner: string;
  repo: string;
  repoId: number;
}

/**
 * Read `.github/agent-gate.yml` in a webhook handler, for the event's
 * installation and repository. YAML that does not parse is returned as the
 * file's problem (a config error shown on the check); GitHub failing is
 * thrown (fail closed, 5xx).
 */
export async function loadConfigFile(context: Context, options: NarrowOptions = {}): Promise<ConfigRead> {
  const payload = context.payload as {
    installation?: { id?: number };
    repository?: { id?: number; name?: string; owner?: { login?: string } };
  };
  const installationId = payload.installation?.id;
  const repository = payload.repository;
  if (!installationId || !repository?.id || !repository.name || !repository.owner?.login) {
    throw new Error("the repository config is read for an event's installation and repository");
  }
  return readConfigFile(
    context.octokit,
    installationId,
    { owner: repository.owner.login, repo: repository.name, repoId: repository.id },
    options,
  );
}

/**
 * Read the config through the config plugin Probot's context.config uses (the
 * owner's `.github` repository when the repository has no file, then
 * `_extends`), every file with a token narrowed to `contents: read` on the
 * one repository it is read from:
 *
 * - the repository itself: its id (`repository_ids`);
 * - another repository of the same account (`.github`, `_extends: other`):
 *   its name (`repositories`), so the token covers that repository only;
 * - a repository the installation cannot reach (GitHub refuses the token) or
 *   of another account (`_extends: other-org/repo`): the repository's own
 *   narrowed token, which can read it only if it is public. A wide token
 *   could read no more of it.
 *
 * `base` is an installation client, used only to ask for those tokens.
 */
export async function readConfigFile(
  base: GitHubClient,
  installationId: number,
  target: ConfigRepo,
  options: NarrowOptions = {},
): Promise<ConfigRead> {
  const own = () => narrowFrom(base, installationId, target.repoId, ["repos.getContent"], options);
  const clientFor = async (owner: string, repo: string): Promise<GitHubClient> => {
    const sameAccount = owner.toLowerCase() === target.owner.toLowerCase();
    if (!sameAccount || repo.toLowerCase() === target.repo.toLowerCase()) return own();
    try {
      return await narrowFromNamed(base, installationId, repo, ["repos.getContent"], options);
    } catch (error) {
      if ((error as { status?: unknown }).status === 422) return own();
      throw error;
    }
  };
  const reader = routedReader(base, clientFor);
  return configReadBy(async () => {
    const { config, files } = await reader.config.get({
      owner: target.owner,
      repo: target.repo,
      path: `.github/${CONFIG_FILE}`,
    });
    return files.some((file) => file.config !== null) ? config : null;
  });
}

/**
 * A client of the app's Octokit class (so it has the config plugin) whose
 * every request is sent by the narrowed client of the repository it names.
 * It holds no token of its own and sends nothing itself.
 */
function routedReader(
  base: GitHubClient,
  clientFor: (owner: string, repo: string) => Promise<GitHubClient>,
): GitHubClient {
  const Client = base.constructor as new (options: { auth: { token: string } }) => GitHubClient;
  const reader = new Client({ auth: { token: "unused" } });
  reader.hook.wrap("request", async (_request, options) => {
    const { owner, repo } = options as { owner?: unknown; repo?: unknown };
    if (typeof owner !== "string" || typeof repo !== "string")
      throw new Error("the config reader only reads repository files");
    const client = await clientFor(owner, repo);
    // Without `request`, which carries this reader's own hook.
    const { request: _ownHook, ...rest } = options as Record<string, unknown>;
    return client.request(rest as never);
  });
  return reader;
}

/** The file's YAML as the config plugin parsed it (null: no file), or the YAML's problem. */
async function configReadBy(read: () => Promise<unknown>): Promise<ConfigRead> {
  let raw: unknown;
  try {
    raw = await read();
  } catch (error) {
    if (
      error instanceof Error &&
      /could not be parsed|invalid|is not support/i.test(error.message) &&
      !("status" in error)
    ) {
      return { ok: false, errors: [yamlProblem(error.cause)] };
    }
    throw error;
  }
  return { ok: true, raw, present: raw !== null && raw !== undefined };
}
