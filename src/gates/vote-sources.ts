import { narrowedClients, narrowFrom, type GitHubFactory } from "../github/narrowed.ts";
import { teamMembershipsWith } from "../github/team-membership.ts";
import { permissionWith } from "../github/permissions.ts";
import { readConfigFile } from "../github/repo-config.ts";
import { repoConfigOf } from "../policy/config.ts";
import type { VoteSources } from "./vote.ts";

/**
 * A vote's facts outside a webhook (the review page), asked of GitHub with
 * narrowed tokens exactly as the check-run handler asks them: the config with
 * `contents: read` tokens (src/github/repo-config.ts), the permission with a
 * token narrowed to the repository and `repos.getCollaboratorPermissionLevel`,
 * team memberships with one narrowed to `teams.getMembershipForUserInOrg`
 * (members: read; refused when the installation lacks it, and then a team
 * rule fails closed naming the permission).
 */
export function installationVoteSources(
  github: GitHubFactory,
  now: () => Date,
  installationId: number,
  proposal: { id: string; repo: string; repo_id: number | null },
): VoteSources {
  const [owner = "", repo = ""] = proposal.repo.split("/");
  return {
    config: async () => {
      if (!proposal.repo_id) throw new Error(`proposal ${proposal.id} has no repository id: its config cannot be read`);
      const file = await readConfigFile(
        await github(installationId),
        installationId,
        { owner, repo, repoId: proposal.repo_id },
        {
          now,
          ...(github.decorate ? { decorate: github.decorate } : {}),
        },
      );
      return repoConfigOf(file);
    },
    permission: async (login) => {
      if (!proposal.repo_id)
        throw new Error(`proposal ${proposal.id} has no repository id: its permission cannot be asked`);
      const octokit = await narrowedClients(github, { now })(installationId, proposal.repo_id, [
        "repos.getCollaboratorPermissionLevel",
      ]);
      return permissionWith(octokit, { owner, repo }, login);
    },
    memberships: (teams, logins) =>
      teamMembershipsWith(
        async () => {
          if (!proposal.repo_id)
            throw new Error(`proposal ${proposal.id} has no repository id: team memberships cannot be asked`);
          return narrowFrom(
            await github(installationId),
            installationId,
            proposal.repo_id,
            ["teams.getMembershipForUserInOrg"],
            {
              now,
              ...(github.decorate ? { decorate: github.decorate } : {}),
            },
          );
        },
        teams,
        logins,
      ),
  };
}
