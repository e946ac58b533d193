import type { GitHubClient } from "./client.ts";

/**
 * Every GitHub call the app makes, declared once with the installation
 * permissions it needs. app.yml's default_permissions is the union of these
 * (test/unit/least-privilege.test.ts), and each call runs with a token
 * narrowed to its own needs and its one repository (./narrowed.ts).
 */

export type Access = "read" | "write";
export type PermissionSet = Partial<Record<string, Access>>;

export interface Operation {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  route: string;
  permissions: PermissionSet;
  why: string;
}

export const OPERATIONS = {
  "repos.getContent": {
    method: "GET",
    route: "/repos/{owner}/{repo}/contents/{path}",
    permissions: { contents: "read" },
    why: "Reads .github/agent-gate.yml (through Probot's context.config, which may fall back to the owner's .github repository), CODEOWNERS at a pull request's base for code-owner rules, and an outreach proposal file at a pushed head to check it is the one published; reads the checkpoint a repository witness's branch holds before committing the next.",
  },
  "repos.getCollaboratorPermissionLevel": {
    method: "GET",
    route: "/repos/{owner}/{repo}/collaborators/{username}/permission",
    permissions: { metadata: "read" },
    why: "Asks, at decision time, whether a reviewer holds at least the configured permission on the repository.",
  },
  "pulls.listReviews": {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    permissions: { pull_requests: "read" },
    why: "Reads the reviews of an agent's pull request to count approvals on its head commit.",
  },
  "pulls.listCommits": {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/commits",
    permissions: { pull_requests: "read" },
    why: "Reads the commits of a pull request (authors, committers, Co-authored-by trailers) to find an agent's work in a person's pull request.",
  },
  "pulls.get": {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}",
    permissions: { pull_requests: "read" },
    why: "Asks for a pull request's current head when an event names another head than the newest known, so a stale event never moves the gate backwards.",
  },
  "pulls.listFiles": {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/files",
    permissions: { pull_requests: "read" },
    why: "Reads the changed files of an agent's pull request when approval rules match paths or need code owners.",
  },
  "pulls.requestReviewers": {
    method: "POST",
    route: "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
    permissions: { pull_requests: "write" },
    why: "Requests reviews of a waiting agent pull request (or outreach pull request) from the code owners, rule users and teams and notify.reviewers who can satisfy what is unmet, once per head.",
  },
  "repos.compareCommitsWithBasehead": {
    method: "GET",
    route: "/repos/{owner}/{repo}/compare/{basehead}",
    permissions: { contents: "read" },
    why: "Lists the commits a push adds to an agent's pull request (only those: the head's earlier commits are kept), and the commits a merge queue's group adds to its base, to find every pull request in the group.",
  },
  "repos.listPullRequestsAssociatedWithCommit": {
    method: "GET",
    route: "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    permissions: { contents: "read", pull_requests: "read" },
    why: "Finds the pull requests a commit of a merge queue's group belongs to, so each is checked for its approval.",
  },
  "checks.listForRef": {
    method: "GET",
    route: "/repos/{owner}/{repo}/commits/{ref}/check-runs",
    permissions: { checks: "read" },
    why: "Finds a check run an earlier, interrupted attempt may already have created, so a retry never makes two.",
  },
  "checks.create": {
    method: "POST",
    route: "/repos/{owner}/{repo}/check-runs",
    permissions: { checks: "write" },
    why: "Creates the `Agent Gate` check run that holds a proposal until it is approved.",
  },
  "checks.update": {
    method: "PATCH",
    route: "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    permissions: { checks: "write" },
    why: "Moves the `Agent Gate` check run to its decision (success, failure, action required).",
  },
  "actions.reviewCustomGatesForRun": {
    method: "POST",
    route: "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
    permissions: { deployments: "write" },
    why: "Answers a deployment protection rule: approves or rejects the waiting deployment job.",
  },
  // Outreach: the proposal file goes on a new branch and a pull request asks for its review.
  "repos.get": {
    method: "GET",
    route: "/repos/{owner}/{repo}",
    permissions: { metadata: "read" },
    why: "Finds the repository's default branch to base an outreach branch (or a repository witness's new branch) on.",
  },
  "git.getRef": {
    method: "GET",
    route: "/repos/{owner}/{repo}/git/ref/{ref}",
    permissions: { contents: "read" },
    why: "Reads the commit the default branch points at, the base of an outreach branch (or a repository witness's new branch), and whether a witness's branch exists.",
  },
  "git.createRef": {
    method: "POST",
    route: "/repos/{owner}/{repo}/git/refs",
    permissions: { contents: "write" },
    why: "Creates the branch that carries an outreach proposal file, or a repository witness's branch of checkpoints.",
  },
  "repos.createOrUpdateFileContents": {
    method: "PUT",
    route: "/repos/{owner}/{repo}/contents/{path}",
    permissions: { contents: "write" },
    why: "Commits the outreach proposal file under .agent-gate/outreach/ on that branch, and each audit checkpoint to a repository witness's branch (agent-gate/audit/<id>/checkpoint).",
  },
  "pulls.list": {
    method: "GET",
    route: "/repos/{owner}/{repo}/pulls",
    permissions: { pull_requests: "read" },
    why: "Finds the outreach pull request an earlier, interrupted try opened, so a retry reuses it instead of failing.",
  },
  "pulls.create": {
    method: "POST",
    route: "/repos/{owner}/{repo}/pulls",
    permissions: { pull_requests: "write" },
    why: "Opens the pull request whose review approves or rejects an outreach proposal.",
  },
} as const satisfies Record<string, Operation>;

/**
 * Calls made only when a repository's config asks for them, with permissions
 * kept out of app.yml's defaults: an installation that uses the feature
 * grants them, and without them the feature fails closed, naming the
 * permission (docs/permissions.md).
 */
export const OPTIONAL_OPERATIONS = {
  "teams.getMembershipForUserInOrg": {
    method: "GET",
    route: "/orgs/{org}/teams/{team_slug}/memberships/{username}",
    permissions: { members: "read" },
    why: "Asks, at decision time, whether an approver is a member of a team an approval rule or CODEOWNERS names.",
  },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;
export type OptionalOperationName = keyof typeof OPTIONAL_OPERATIONS;
export type AnyOperationName = OperationName | OptionalOperationName;

/** Events the app subscribes to (the manifest's default_events). */
export const HANDLED_EVENTS = [
  "pull_request",
  "pull_request_review",
  "check_run",
  "deployment_protection_rule",
  "merge_group",
] as const;

/** Permissions GitHub requires of an app to receive an event, beyond its operations' (merge_group: Merge queues read). */
export const EVENT_PERMISSIONS: Partial<Record<(typeof HANDLED_EVENTS)[number], PermissionSet>> = {
  merge_group: { merge_queues: "read" },
};

/** Delivered to every GitHub App whatever it subscribes to; never listed in a manifest. */
export const ALWAYS_DELIVERED_EVENTS = ["installation", "installation_repositories"] as const;

/** The union of the permissions the named operations need; write beats read. Keys sorted. */
export function permissionsFor(names: readonly AnyOperationName[]): Record<string, Access> {
  const union: Record<string, Access> = {};
  for (const name of names) {
    const operation: Operation | undefined =
      (OPERATIONS as Record<string, Operation>)[name] ?? (OPTIONAL_OPERATIONS as Record<string, Operation>)[name];
    if (!operation) throw new Error(`unknown GitHub operation ${String(name)}`);
    for (const [permission, access] of Object.entries(operation.permissions)) {
      if (access && union[permission] !== "write") union[permission] = access;
    }
  }
  return Object.fromEntries(Object.entries(union).sort(([a], [b]) => a.localeCompare(b)));
}

/** What the app as a whole needs: app.yml's default_permissions (its operations' and its events'; optional operations' not). */
export function requiredPermissions(): Record<string, Access> {
  const union = permissionsFor(Object.keys(OPERATIONS) as OperationName[]);
  for (const permissions of Object.values(EVENT_PERMISSIONS)) {
    for (const [permission, access] of Object.entries(permissions ?? {})) {
      if (access && union[permission] !== "write") union[permission] = access;
    }
  }
  return Object.fromEntries(Object.entries(union).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * A client whose token holds only what the named operations need, for one
 * repository. Get one with `narrowedClients(github)` from ./narrowed.ts, or
 * from `JobDeps` in an outbox job (`narrowedClientFor(deps)` in outbox-jobs.ts).
 */
export type NarrowedClient = (
  installationId: number,
  repoId: number,
  operationNames: readonly OperationName[],
) => Promise<GitHubClient>;

export { narrowedClients, narrowFrom } from "./narrowed.ts";
