import type { Context } from "probot";
import { loadConfigFile } from "../github/repo-config.ts";
import { repoConfigOf, type RepoConfig } from "../policy/config.ts";

/**
 * The event's repository config for a decision: its file as GitHub has it
 * (github/), checked by the one config schema with its digest (policy/).
 * GitHub failing is thrown: the gate stays closed.
 */
export async function loadRepoConfig(context: Context): Promise<RepoConfig> {
  return repoConfigOf(await loadConfigFile(context));
}
