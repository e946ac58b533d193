import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";
import type { GitHubClient } from "./client.ts";

/** A user's role on a repository, as GitHub reports it; `none` for a user who is not a collaborator. */
export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

const ROLES: readonly Permission[] = ["admin", "maintain", "write", "triage", "read", "none"];

/**
 * The user's permission on the repository, asked of GitHub at decision time.
 * A user who is not a collaborator (404) holds none. Failing to get a token
 * (or any other error) is thrown: the gate stays closed.
 */
export async function permissionOf(
  context: Context,
  repo: { owner: string; repo: string },
  login: string,
  now?: () => Date,
): Promise<Permission> {
  // A token for this repository that can read metadata and nothing else.
  const octokit = await narrowedForEvent(context, ["repos.getCollaboratorPermissionLevel"], now ? { now } : {});
  return permissionWith(octokit, repo, login);
}

/** The same question with a client already narrowed to `repos.getCollaboratorPermissionLevel` (the review page's). */
export async function permissionWith(
  octokit: GitHubClient,
  repo: { owner: string; repo: string },
  login: string,
): Promise<Permission> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
      ...repo,
      username: login,
    });
    const role = (data as { role_name?: string }).role_name;
    if (role && (ROLES as readonly string[]).includes(role)) return role as Permission;
    const legacy = data.permission;
    return (ROLES as readonly string[]).includes(legacy) ? (legacy as Permission) : "none";
  } catch (error) {
    if ((error as { status?: number }).status === 404) return "none";
    throw error;
  }
}
