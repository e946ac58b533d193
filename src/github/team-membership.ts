import type { Context } from "probot";
import { narrowedForEvent, type EventContext } from "./narrowed.ts";
import type { GitHubClient } from "./client.ts";

/** Whether one login is an active member of one team (org/slug). */
export interface TeamMembership {
  team: string;
  login: string;
  member: boolean;
}

/** A team whose members could not be asked: the installation lacks `members: read`. */
export interface TeamError {
  team: string;
  reason: "no_permission";
}

function statusOf(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

/**
 * Whether each login is an active member of each team (org/slug), asked of
 * GitHub now with a token narrowed to the organization permission
 * `members: read`. An installation without it (the token is refused with
 * 422, or GitHub answers 403) yields a `no_permission` error per team, so a
 * rule that needs the team fails closed and says which permission to grant.
 * A 404 means not a member. Anything else is thrown.
 */
export async function teamMemberships(
  context: EventContext | Context,
  teams: readonly string[],
  logins: readonly string[],
): Promise<TeamMemberships> {
  return teamMembershipsWith(() => narrowedForEvent(context, ["teams.getMembershipForUserInOrg"]), teams, logins);
}

export interface TeamMemberships {
  memberships: TeamMembership[];
  teamErrors: TeamError[];
}

/**
 * The same, with the client made by `client` (outside a webhook: a token
 * narrowed from the installation's client to `teams.getMembershipForUserInOrg`
 * and the proposal's repository). The client is made only when there is a
 * team and a login to ask about.
 */
export async function teamMembershipsWith(
  client: () => Promise<GitHubClient>,
  teams: readonly string[],
  logins: readonly string[],
): Promise<TeamMemberships> {
  const memberships: TeamMembership[] = [];
  const teamErrors: TeamError[] = [];
  if (teams.length === 0 || logins.length === 0) return { memberships, teamErrors };
  let reader: GitHubClient;
  try {
    reader = await client();
  } catch (error) {
    if (statusOf(error) === 422 || statusOf(error) === 403) {
      return { memberships, teamErrors: teams.map((team) => ({ team, reason: "no_permission" as const })) };
    }
    throw error;
  }
  for (const team of teams) {
    const [org = "", slug = ""] = team.split("/");
    for (const login of logins) {
      try {
        const { data } = await reader.request("GET /orgs/{org}/teams/{team_slug}/memberships/{username}", {
          org,
          team_slug: slug,
          username: login,
        });
        memberships.push({ team, login, member: data.state === "active" });
      } catch (error) {
        if (statusOf(error) === 404) {
          memberships.push({ team, login, member: false });
        } else if (statusOf(error) === 403) {
          teamErrors.push({ team, reason: "no_permission" });
          break;
        } else {
          throw error;
        }
      }
    }
  }
  return { memberships, teamErrors };
}
