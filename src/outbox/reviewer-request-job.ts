import { appendAudit } from "../audit/log.ts";
import { findProposal } from "../proposals/store.ts";
import { errorWaitMs } from "../github/rate-limit.ts";
import { narrowedClients } from "../github/narrowed.ts";
import type { JobDeps, JobRow } from "./jobs.ts";

export interface ReviewerRequestPayload {
  proposal_id: string;
  pr_number: number;
  head_sha: string;
  reviewers: string[];
  team_reviewers: string[];
}

/** GitHub's answers that no retry changes: a reviewer who is not a collaborator, a team without access, a missing permission or pull request. */
const REFUSED = new Set([403, 404, 422]);

/**
 * Requests the reviews a waiting head needs
 * (`POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers`,
 * pull_requests: write). Only while the proposal still waits on that head: a
 * decided or superseded one asks nobody. Fails soft: a refusal by GitHub (a
 * login that is not a collaborator, a team without access to the
 * repository, the permission not granted) ends the job with an audit event
 * and never touches the decision; other failures are retried.
 */
export async function performReviewerRequest(
  job: JobRow,
  payload: ReviewerRequestPayload,
  deps: JobDeps,
): Promise<{ outcome: string }> {
  const proposal = await deps.db.tenant(job.installation_id, (tx) => findProposal(tx, payload.proposal_id));
  const audit = (outcome: string, data: Record<string, unknown>) =>
    deps.db.tenant(job.installation_id, (tx) =>
      appendAudit(
        tx,
        job.installation_id,
        {
          action: "github.write",
          outcome,
          repo: proposal?.repo ?? null,
          subject: payload.proposal_id,
          data: { operation: "pulls.request_reviewers", pr: payload.pr_number, head: payload.head_sha, ...data },
        },
        deps.now(),
      ),
    );
  if (!proposal || proposal.status !== "pending" || proposal.head_sha !== payload.head_sha || !proposal.repo_id) {
    await audit("skipped", { reason: "the proposal no longer waits on this head" });
    return { outcome: "not_waiting" };
  }
  const [owner = "", repo = ""] = proposal.repo.split("/");
  try {
    const octokit = await narrowedClients(deps.github, { now: deps.now })(job.installation_id, proposal.repo_id, [
      "pulls.requestReviewers",
    ]);
    await octokit.request("POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", {
      owner,
      repo,
      pull_number: payload.pr_number,
      ...(payload.reviewers.length ? { reviewers: payload.reviewers } : {}),
      ...(payload.team_reviewers.length ? { team_reviewers: payload.team_reviewers } : {}),
    });
  } catch (error) {
    const status = (error as { status?: number }).status;
    // A rate limit is waited out like any other write's; only GitHub's refusals end the job.
    if (status === undefined || !REFUSED.has(status) || errorWaitMs(error, deps.now().getTime()) !== undefined)
      throw error;
    await audit("refused", { status, reviewers: payload.reviewers, team_reviewers: payload.team_reviewers });
    return { outcome: "refused" };
  }
  await audit("ok", { reviewers: payload.reviewers, team_reviewers: payload.team_reviewers });
  return { outcome: "done" };
}
