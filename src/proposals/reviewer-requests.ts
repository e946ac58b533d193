import type { AuditInput } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { enqueue, requestReviewers } from "../outbox/queue.ts";
import type { ReviewerRequest } from "../policy/reviewer-requests.ts";
import type { ProposalRow } from "./store.ts";

/**
 * Queue the request for reviews of a waiting proposal's head, once per head:
 * the head is recorded in `reviewer_requests` first, and only the first
 * evaluation of a head that has someone to ask queues the outbox job (paced
 * with every other GitHub write of the installation) and its
 * `reviewers.requested` event. A later evaluation of the same head, a
 * redelivery or a re-run asks nobody again. Returns whether it was queued.
 */
export async function queueReviewerRequest(
  tx: Queryable,
  proposal: ProposalRow,
  request: ReviewerRequest,
  now: Date,
  emit: (event: AuditInput) => Promise<unknown> | void,
): Promise<boolean> {
  if (request.reviewers.length + request.teamReviewers.length === 0) return false;
  if (!proposal.pr_number || !proposal.head_sha) return false;
  const recorded = await tx.query(
    `INSERT INTO reviewer_requests (installation_id, repo, pr_number, head_sha, proposal_id, reviewers, team_reviewers, requested_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (installation_id, repo, pr_number, head_sha) DO NOTHING
     RETURNING proposal_id`,
    [
      proposal.installation_id,
      proposal.repo,
      proposal.pr_number,
      proposal.head_sha,
      proposal.id,
      JSON.stringify(request.reviewers),
      JSON.stringify(request.teamReviewers),
      now,
    ],
  );
  if (recorded.length === 0) return false;
  await enqueue(
    tx,
    requestReviewers(proposal.installation_id, proposal.id, {
      prNumber: proposal.pr_number,
      headSha: proposal.head_sha,
      reviewers: request.reviewers,
      teamReviewers: request.teamReviewers,
    }),
  );
  await emit({
    action: "reviewers.requested",
    outcome: "queued",
    repo: proposal.repo,
    subject: proposal.id,
    data: {
      kind: proposal.kind,
      pr: proposal.pr_number,
      head: proposal.head_sha,
      reviewers: request.reviewers,
      team_reviewers: request.teamReviewers,
      left_out: request.leftOut,
    },
  });
  return true;
}
