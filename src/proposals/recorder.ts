import { appendAudit, type AuditInput } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { queueReviewerRequest } from "./reviewer-requests.ts";
import { parseState, type ProposalState } from "./state.ts";
import { queueNotification } from "../notify/jobs.ts";
import type { NotifyEvent } from "../notify/message.ts";
import { enqueue, reviewDeployment, syncCheckRun } from "../outbox/queue.ts";
import { DECIDED_CHANNEL, type ProposalRow, type ProposalStatus } from "./store.ts";
import { configErrorEvent, evaluationEvent, expiryEvent, outreachRejectionEvent, tallyEvent } from "./change-events.ts";
import type {
  DecisionChange,
  EvaluationChange,
  OutreachRejection,
  Publication,
  PublicationFailure,
  RecordOptions,
  TallyChange,
} from "./changes.ts";

/**
 * The one writer of a proposal's status and state after its insert
 * (insertProposal in ./store.ts). Every change (./changes.ts) — a tally of
 * votes or reviews, a commit gate's evaluation, an expiry, an invalidation by
 * a push, an uninstall, an outreach rejection, publication or configuration
 * error — goes through recordDecision, one function per kind of change (or
 * the bulk recordSuperseded / recordUninstalled of ./recorder-bulk.ts), in
 * the caller's transaction: the row is updated, the audit events appended,
 * the GitHub writes queued in the outbox and a decision announced on
 * DECIDED_CHANNEL (delivered to long polls at commit).
 * It also queues the notifications (src/notify/): when a proposal starts
 * waiting (recordWaiting, or a commit's first evaluation, or an outreach
 * proposal's publication) and when it is decided, expires or is superseded;
 * they go to their own queue and never hold up the decision.
 * test/unit/architecture-recorder.test.ts fails when SQL elsewhere writes
 * `proposals.status` or `proposals.state`.
 */

/** Where a change's audit events go: appended now, or gathered for the caller (RecordOptions.events). */
type Emit = (event: AuditInput) => Promise<unknown> | void;

/**
 * Record one change of `proposal` (read under its row lock by the caller) in
 * the caller's transaction; returns the status it has afterwards. The new
 * state is checked against the kind's schema first: a state that would not
 * read back throws before anything is written.
 */
export async function recordDecision(
  tx: Queryable,
  proposal: ProposalRow,
  change: DecisionChange,
  now: Date,
  options: RecordOptions = {},
): Promise<ProposalStatus> {
  const emit: Emit = (event) =>
    options.events ? void options.events.push(event) : appendAudit(tx, proposal.installation_id, event, now);
  switch (change.type) {
    case "tally":
      return recordTally(tx, proposal, change, now, emit);
    case "evaluated":
      return recordEvaluation(tx, proposal, change, now, emit);
    case "expired":
      return recordExpiry(tx, proposal, now, emit);
    case "outreach_rejected":
      return recordOutreachRejection(tx, proposal, change, now, emit);
    case "published":
      return recordPublication(tx, proposal, change, now);
    case "config_error":
      return recordConfigError(tx, proposal, change, now, emit);
  }
}

/** A tally of votes or reviews: the decision, its event, its GitHub writes, whom to ask while it waits. */
async function recordTally(
  tx: Queryable,
  proposal: ProposalRow,
  change: TallyChange,
  now: Date,
  emit: Emit,
): Promise<ProposalStatus> {
  const { decision } = change;
  const decided = decision.status !== "pending";
  await writeRow(tx, proposal, {
    status: decision.status,
    state: change.state,
    approvers: decision.approvers,
    reason: decision.status === "rejected" ? (decision.reasons[0] ?? "rejected") : null,
    decidedAt: decided ? now : null,
    now,
  });
  await emit(tallyEvent(proposal, change));
  await queueWrites(tx, proposal, decision.status, decided);
  if (change.reviewers && decision.status === "pending")
    await queueReviewerRequest(tx, proposal, change.reviewers, now, emit);
  if (decided) await notify(tx, proposal, "decided", now);
  return decision.status;
}

/**
 * The commit gate's evaluation of a head. A row inserted with it just now is
 * not written again; a decision keeps the time it was first made. The
 * channels hear of a new waiting head, and of a decision once.
 */
async function recordEvaluation(
  tx: Queryable,
  proposal: ProposalRow,
  change: EvaluationChange,
  now: Date,
  emit: Emit,
): Promise<ProposalStatus> {
  const { status, state, approvers } = change;
  const decided = status !== "pending";
  if (!change.inserted) {
    const decidedAt = decided ? (proposal.decided_at ?? now) : null;
    await writeRow(tx, proposal, { status, state, approvers, reason: change.reason, decidedAt, now });
  }
  await emit(evaluationEvent(proposal, change));
  await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, status));
  if (change.reviewers && status === "pending") await queueReviewerRequest(tx, proposal, change.reviewers, now, emit);
  if (change.inserted && status === "pending") await notify(tx, proposal, "pending", now);
  else if (decided && (change.inserted || proposal.status === "pending")) await notify(tx, proposal, "decided", now);
  return status;
}

/** The expiry passed undecided: rejected with reason "expired", `proposal.expired`. */
async function recordExpiry(tx: Queryable, proposal: ProposalRow, now: Date, emit: Emit): Promise<ProposalStatus> {
  const previous = proposal.state.decision ?? {};
  await writeRow(tx, proposal, {
    status: "rejected",
    state: { ...proposal.state, decision: { ...previous, status: "rejected", title: "Expired without a decision" } },
    approvers: proposal.approvers,
    reason: "expired",
    decidedAt: now,
    now,
  });
  await emit(expiryEvent(proposal));
  await queueWrites(tx, proposal, "rejected", true);
  await notify(tx, proposal, "expired", now);
  return "rejected";
}

/** An outreach proposal rejected (its pull request closed or merged, its file changed). */
async function recordOutreachRejection(
  tx: Queryable,
  proposal: ProposalRow,
  change: OutreachRejection,
  now: Date,
  emit: Emit,
): Promise<ProposalStatus> {
  const { reason } = change;
  const title = `Rejected: ${reason.split(":")[0]}`;
  await writeRow(tx, proposal, {
    status: "rejected",
    state: { ...proposal.state, decision: { ...proposal.state.decision, title, reasons: [reason] } },
    approvers: [],
    reason,
    decidedAt: now,
    now,
  });
  await emit(outreachRejectionEvent(proposal, change));
  // A proposal not yet published has no check run to bring up to date.
  if (proposal.kind === "outreach" && proposal.state.mode)
    await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, "rejected"));
  await notify(tx, proposal, "decided", now);
  return "rejected";
}

/** An outreach proposal put before reviewers; only a pending one moves, and its channels are told it waits. */
async function recordPublication(
  tx: Queryable,
  proposal: ProposalRow,
  change: Publication,
  now: Date,
): Promise<ProposalStatus> {
  parseState(proposal.id, proposal.kind, { ...proposal.state, ...change.state });
  // The status is set again (to itself) so the proposal's tracked deadline moves with its expiry.
  await tx.query(
    `UPDATE proposals SET pr_number = $2, head_sha = $3, state = state || $4::jsonb, expires_at = $5, status = status
      WHERE id = $1 AND status = 'pending'`,
    [proposal.id, change.prNumber, change.headSha, JSON.stringify(change.state), change.expiresAt],
  );
  if (proposal.status === "pending") await notify(tx, proposal, "pending", now);
  return proposal.status;
}

/** An outreach proposal that cannot be published: the error kept in its state, `outreach.config_error`. */
async function recordConfigError(
  tx: Queryable,
  proposal: ProposalRow,
  change: PublicationFailure,
  now: Date,
  emit: Emit,
): Promise<ProposalStatus> {
  await tx.query(
    "UPDATE proposals SET state = state || jsonb_build_object('config_error', $2::text), updated_at = $3 WHERE id = $1",
    [proposal.id, change.message, now],
  );
  await emit(configErrorEvent(proposal, change));
  return proposal.status;
}

interface RowWrite {
  status: ProposalStatus;
  state: ProposalState;
  approvers: string[];
  reason: string | null;
  decidedAt: Date | null;
  now: Date;
}

/** The row's new status and state, checked against its kind, and announced (at commit) once it leaves pending. */
async function writeRow(tx: Queryable, proposal: ProposalRow, update: RowWrite): Promise<void> {
  parseState(proposal.id, proposal.kind, update.state);
  // Updated and, once decided, announced (to long polls, at commit) in one round trip.
  await tx.query(
    `WITH updated AS (
       UPDATE proposals SET status = $2, state = $3, approvers = $4, reason = $5, decided_at = $6, updated_at = $7
        WHERE id = $1 RETURNING id, status)
     SELECT pg_notify($8, id) FROM updated WHERE status <> 'pending'`,
    [
      proposal.id,
      update.status,
      JSON.stringify(update.state),
      JSON.stringify(update.approvers),
      update.reason,
      update.decidedAt,
      update.now,
      DECIDED_CHANNEL,
    ],
  );
}

/** A proposal's notifications: queued in the decision's transaction, sent by the notifier (src/notify/notifier.ts). */
async function notify(
  tx: Queryable,
  proposal: Pick<ProposalRow, "id" | "installation_id">,
  event: NotifyEvent,
  now: Date,
): Promise<void> {
  await queueNotification(tx, { installationId: proposal.installation_id, proposalId: proposal.id, event }, now);
}

/**
 * A proposal inserted pending (a deploy from GitHub or the API) starts
 * waiting: its channels are told. Commits are told at their first evaluation,
 * outreach at its publication.
 */
export async function recordWaiting(
  tx: Queryable,
  proposal: Pick<ProposalRow, "id" | "installation_id" | "status">,
  now: Date,
): Promise<void> {
  if (proposal.status === "pending") await notify(tx, proposal, "pending", now);
}

/** The GitHub writes of a change: a decided deployment's callback ahead of the check-run text. */
async function queueWrites(
  tx: Queryable,
  proposal: ProposalRow,
  status: ProposalStatus,
  decided: boolean,
): Promise<void> {
  if (decided && (proposal.details as { run_id?: number }).run_id)
    await enqueue(tx, reviewDeployment(proposal.installation_id, proposal.id));
  await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, status));
}
