import type { Context } from "probot";
import type { GitHubClient } from "./client.ts";
import { configDigest, parseConfig, type GateConfig, type ConfigError } from "../policy/config.ts";

export const CONFIG_FILE = "agent-gate.yml";

export type RepoConfig =
  | { ok: true; config: GateConfig; present: boolean; digest: string }
  | { ok: false; errors: ConfigError[] };

/**
 * Read `.github/agent-gate.yml` through Probot's context.config (so an org-wide
 * `.github` repository and `_extends` work). A file that does not parse is a
 * config error shown on the check; GitHub failing is thrown (fail closed, 5xx).
 *
 * The one read on the installation's own token rather than a narrowed one: the
 * config may come from the owner's `.github` repository or an `_extends`
 * target, which a token for this one repository could not read. Declared as
 * `repos.getContent` (contents: read) in operations.ts.
 */
export async function loadRepoConfig(context: Context): Promise<RepoConfig> {
  return parseRepoConfig(() => context.config(CONFIG_FILE));
}

/**
 * The same, outside a webhook (the review page): with an installation client,
 * through the config plugin that Probot's context.config uses, with its
 * `.github` repository fallback and `_extends`.
 */
export async function readRepoConfig(octokit: GitHubClient, repo: { owner: string; repo: string }): Promise<RepoConfig> {
  return parseRepoConfig(async () => {
    const { config, files } = await octokit.config.get({ ...repo, path: `.github/${CONFIG_FILE}` });
    return files.some((file) => file.config !== null) ? config : null;
  });
}

async function parseRepoConfig(read: () => Promise<unknown>): Promise<RepoConfig> {
  let raw: unknown;
  try {
    raw = await read();
  } catch (error) {
    if (error instanceof Error && /could not be parsed|invalid|is not support/i.test(error.message) && !("status" in error)) {
      return { ok: false, errors: [{ path: "(file)", message: "the YAML could not be parsed" }] };
    }
    throw error;
  }
  const parsed = parseConfig(raw, raw !== null && raw !== undefined);
  if (!parsed.ok) return parsed;
  return { ...parsed, digest: configDigest(parsed.config) };
}
