import { appendAudit } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import type { Decision, Vote } from "../policy/decision.ts";
import { enqueue, syncCheckRun, updateProposal, type ProposalRow } from "../proposals/store.ts";

/** What is stored with a decision beyond the decision itself. */
export interface DecisionRecord {
  /** The proposal's new state (the tally, the decision and what it was decided under). */
  state: Record<string, unknown>;
  actor?: string | null;
  actorIsBot?: boolean;
  /** More of the audit event's data (digests of the facts and config, the head). */
  data?: Record<string, unknown>;
  /** More of the decision as the audit event shows it (who rejected, who was refused). */
  summary?: Record<string, unknown>;
}

/**
 * Store a decision: the proposal's status and state, the `decision.recorded`
 * audit event, and the GitHub writes it needs, queued in the same
 * transaction; a decided deployment's callback goes ahead of the check-run text.
 */
export async function storeDecision(tx: Queryable, proposal: ProposalRow, decision: Decision, record: DecisionRecord, now: Date): Promise<void> {
  const decided = decision.status !== "pending";
  await updateProposal(tx, proposal.id, {
    status: decision.status,
    state: record.state,
    approvers: decision.approvers,
    reason: decision.status === "rejected" ? (decision.reasons[0] ?? "rejected") : null,
    decidedAt: decided ? now : null,
    now,
  });
  await appendAudit(tx, proposal.installation_id, {
    action: "decision.recorded",
    outcome: decision.status,
    ...(record.actor === undefined ? {} : { actor: record.actor }),
    ...(record.actorIsBot === undefined ? {} : { actorIsBot: record.actorIsBot }),
    repo: proposal.repo,
    subject: proposal.id,
    data: {
      kind: proposal.kind,
      digest: proposal.digest,
      ...record.data,
      decision: { status: decision.status, title: decision.title, approvers: decision.approvers, ...record.summary },
    },
  }, now);
  const updated = { ...proposal, status: decision.status };
  if (decided && (proposal.details as { run_id?: number }).run_id) await enqueue(tx, reviewDeployment(updated));
  await enqueue(tx, syncCheckRun(updated));
}

/** Store a tally of votes (buttons, the review page): the decision with the votes it counted. */
export async function applyDecision(tx: Queryable, proposal: ProposalRow, decision: Decision, votes: Vote[], now: Date): Promise<void> {
  await storeDecision(tx, proposal, decision, {
    state: { ...proposal.state, votes, decision, required: decision.required },
    summary: { rejected_by: decision.rejectedBy },
  }, now);
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
