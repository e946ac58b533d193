import { example } from "./app.ts";

// Commit-gate payloads built from GitHub's example deliveries: an agent's pull
// request, a maintainer's review of it, and the review as GitHub lists it.

export interface PullOptions {
  installationId: number;
  number: number;
  sha: string;
  agent: string;
}

/** pull_request.opened by the agent. */
export function agentPullRequest(o: PullOptions): Record<string, any> {
  const payload = example("pull_request", "opened", o.installationId);
  payload.number = o.number;
  payload.pull_request.number = o.number;
  payload.pull_request.head.sha = o.sha;
  payload.pull_request.user = { ...payload.pull_request.user, login: o.agent, type: "User" };
  payload.sender = { ...payload.sender, login: o.agent, type: "User" };
  return payload;
}

/** pull_request_review.submitted by `reviewer` on the agent's pull request. */
export function reviewSubmitted(
  o: PullOptions & { reviewer: string; state?: "approved" | "changes_requested" | "commented"; reviewId?: number },
): Record<string, any> {
  const pull = agentPullRequest(o);
  const payload = example("pull_request_review", "submitted", o.installationId);
  payload.pull_request = pull.pull_request;
  payload.review = {
    ...payload.review,
    id: o.reviewId ?? payload.review.id,
    user: { ...payload.review.user, login: o.reviewer, type: "User" },
    state: o.state ?? "approved",
    commit_id: o.sha,
  };
  payload.sender = { ...payload.sender, login: o.reviewer, type: "User" };
  return payload;
}

/** An APPROVED review as GET /pulls/{n}/reviews lists it. */
export function listedApproval(reviewer: string, sha: string, id = 1): object {
  return {
    id,
    user: { login: reviewer, id: 7, type: "User" },
    state: "APPROVED",
    commit_id: sha,
    submitted_at: "2026-11-23T10:00:00Z",
    body: "",
  };
}

/** A distinct 40-hex head SHA for pull request `n`. */
export function shaFor(n: number, salt = 0): string {
  return (salt * 1_000_000 + n).toString(16).padStart(40, "0");
}
