import type { Context } from "probot";

/** The pull request events that move a head: each goes to the outreach gate or the commit gate. */
export const PULL_EVENTS = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request_review.submitted",
  "pull_request_review.dismissed",
  "pull_request_review.edited",
] as const;

/** Every pull request event a gate reads: those above, a base edited, and (outreach only) a close. */
export type PullEventName = (typeof PULL_EVENTS)[number] | "pull_request.edited" | "pull_request.closed";

/** A webhook context of one of those events, its payload typed from @octokit/webhooks. */
export type PullContext = Context<PullEventName>;

/** The pull request as a gate reads it from an event. */
export interface PullFacts {
  number: number;
  headSha: string;
  baseRef: string;
  author: { login: string; type: string };
}

/** What an event says of a pull request's head, as plain facts: the commit gate gathers the rest from these. */
export interface HeadEvent {
  installationId: number;
  /** The repository: its names as GitHub's paths take them, its full name and id. */
  repo: { owner: string; repo: string };
  fullName: string;
  repoId: number;
  pull: PullFacts;
  /** How many commits the pull request has, when the event says. */
  commitCount: number | undefined;
  titleLength: number;
  assignees: string[];
  requestedReviewers: string[];
  /** A push (`synchronize`): the head it moved from, and who pushed. */
  push: { before: string | null; pusher: { login: string; type: string } | null };
  /** The author of the approval or change request the event reports, if it reports one. */
  reviewer: { login: string; type: string } | null;
}

/** The fields of a pull request a head's facts come from: a webhook's `pull_request`, or `GET /pulls/{number}`'s answer. */
export interface PullRequestFields {
  number: number;
  title: string;
  head: { sha: string };
  base: { ref: string };
  user: { login: string; type?: string } | null;
  commits?: number;
  assignees?: readonly unknown[] | null;
  requested_reviewers?: readonly unknown[] | null;
}

/** The repository and installation an event is about. */
export interface EventRepository {
  installationId: number;
  repository: { id: number; name: string; full_name: string; owner: { login: string } };
}

/** A head event from a pull request, as the event or GitHub reports it. */
export function headEventOf(
  where: EventRepository,
  pr: PullRequestFields,
  push: HeadEvent["push"] = { before: null, pusher: null },
  reviewer: HeadEvent["reviewer"] = null,
): HeadEvent {
  const { repository } = where;
  return {
    installationId: where.installationId,
    repo: { owner: repository.owner.login, repo: repository.name },
    fullName: repository.full_name,
    repoId: repository.id,
    pull: {
      number: pr.number,
      headSha: pr.head.sha,
      baseRef: pr.base.ref,
      author: { login: pr.user?.login ?? "ghost", type: pr.user?.type ?? "User" },
    },
    commitCount: typeof pr.commits === "number" ? pr.commits : undefined,
    titleLength: pr.title.length,
    assignees: logins(pr.assignees),
    requestedReviewers: logins(pr.requested_reviewers),
    push,
    reviewer,
  };
}

/** The head event of a pull request webhook; null without an installation. */
export function pullEventOf(payload: PullContext["payload"]): HeadEvent | null {
  const installationId = payload.installation?.id;
  if (installationId === undefined) return null;
  const push =
    payload.action === "synchronize"
      ? { before: payload.before, pusher: { login: payload.sender.login, type: payload.sender.type } }
      : undefined;
  return headEventOf({ installationId, repository: payload.repository }, payload.pull_request, push, voterOf(payload));
}

/** Who cast the vote a review event reports (a comment is not a vote). */
function voterOf(payload: PullContext["payload"]): HeadEvent["reviewer"] {
  if (!("review" in payload)) return null;
  const { state, user } = payload.review;
  return user?.login && state !== "commented" ? { login: user.login, type: user.type ?? "User" } : null;
}

/** Logins of a list of accounts; teams (no login) and empty entries are left out. */
function logins(list: readonly unknown[] | null | undefined): string[] {
  return (list ?? []).flatMap((user) =>
    typeof user === "object" && user !== null && "login" in user && typeof user.login === "string" && user.login
      ? [user.login]
      : [],
  );
}
