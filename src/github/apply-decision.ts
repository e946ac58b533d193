import { appendAudit } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import type { Decision, Vote } from "../policy/decision.ts";
import { enqueue, syncCheckRun, updateProposal, type ProposalRow } from "../proposals/store.ts";

/** Store a tally; when it decides, queue the deployment callback ahead of the check-run text. */
export async function applyDecision(
  tx: Queryable,
  proposal: ProposalRow,
  decision: Decision,
  votes: Vote[],
  now: Date,
  installationId: number,
): Promise<void> {
  const decided = decision.status !== "pending";
  await updateProposal(tx, proposal.id, {
    status: decision.status,
    state: { ...proposal.state, votes, decision, required: decision.required },
    approvers: decision.approvers,
    reason: decision.status === "rejected" ? (decision.reasons[0] ?? "rejected") : null,
    decidedAt: decided ? now : null,
    now,
  });
  await appendAudit(tx, installationId, {
    action: "decision.recorded",
    outcome: decision.status,
    repo: proposal.repo,
    subject: proposal.id,
    data: {
      kind: proposal.kind,
      digest: proposal.digest,
      decision: { status: decision.status, title: decision.title, approvers: decision.approvers, rejected_by: decision.rejectedBy },
    },
  }, now);
  const updated = { ...proposal, status: decision.status };
  if (decided && (proposal.details as { run_id?: number }).run_id) await enqueue(tx, reviewDeployment(updated));
  await enqueue(tx, syncCheckRun(updated));
}

/** The deployment protection rule callback for a decided proposal; a decision, so sent first. */
export function reviewDeployment(proposal: { id: string; installation_id: number }) {
  return {
    installationId: proposal.installation_id,
    operation: "deployment.review",
    coalesceKey: `deployment:${proposal.id}`,
    priority: 0 as const,
    payload: { proposal_id: proposal.id },
  };
}
