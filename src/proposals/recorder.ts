import { appendAudit, type AuditInput } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import type { Decision } from "../policy/decision.ts";
import type { ReviewerRequest } from "../policy/reviewer-requests.ts";
import { queueReviewerRequest } from "./reviewer-requests.ts";
import { parseState, type CommitState, type OutreachState, type ProposalState } from "./state.ts";
import { queueNotification } from "../notify/jobs.ts";
import type { NotifyEvent } from "../notify/message.ts";
import { enqueue, reviewDeployment, syncCheckRun } from "../outbox/queue.ts";
import { DECIDED_CHANNEL, type ProposalRow, type ProposalStatus } from "./store.ts";

/**
 * The one writer of a proposal's status and state after its insert
 * (insertProposal in ./store.ts). Every change — a tally of votes or
 * reviews, a commit gate's evaluation, an expiry, an invalidation by a push,
 * an uninstall, an outreach rejection, publication or configuration error —
 * goes through recordDecision (or the bulk recordSuperseded /
 * recordUninstalled), in the caller's transaction: the row is updated, the
 * audit events appended, the GitHub writes queued in the outbox and a
 * decision announced on DECIDED_CHANNEL (delivered to long polls at commit).
 * It also queues the notifications (src/notify/): when a proposal starts
 * waiting (recordWaiting, or a commit's first evaluation, or an outreach
 * proposal's publication) and when it is decided, expires or is superseded;
 * they go to their own queue and never hold up the decision.
 * test/unit/architecture-recorder.test.ts fails when SQL elsewhere writes
 * `proposals.status` or `proposals.state`.
 */

/** A tally of votes (buttons, the review page) or of an outreach pull request's reviews: `decision.recorded`. */
export interface TallyChange {
  type: "tally";
  decision: Decision;
  /** The proposal's new state (the tally, the decision and what it was decided under). */
  state: ProposalState;
  actor?: string | null;
  actorIsBot?: boolean;
  /** More of the audit event's data (digests of the facts and config, the head). */
  data?: Record<string, unknown>;
  /** More of the decision as the audit event shows it (who rejected, who was refused). */
  summary?: Record<string, unknown>;
  /** Whose review to request while it waits (an outreach pull request); asked once per head. */
  reviewers?: ReviewerRequest;
}

/** The commit gate's evaluation of a pull request's head: `decision.recorded`, gathered with the gate's other events. */
export interface EvaluationChange {
  type: "evaluated";
  status: ProposalStatus;
  state: CommitState & { decision: { title: string; refused: unknown } };
  approvers: string[];
  reason: string | null;
  /** Who sent the event that was evaluated. */
  actor: string | null;
  actorIsBot: boolean;
  actorIsAgent: boolean;
  /** The row was inserted with this status and state just now: only its event and check run follow. */
  inserted?: boolean;
  /** Whose review to request while the head waits; asked once per head. */
  reviewers?: ReviewerRequest;
}

/** The proposal's expiry passed undecided: rejected with reason "expired", `proposal.expired`. */
export interface ExpiryChange {
  type: "expired";
}

/** An outreach proposal rejected (its pull request closed or merged, its file changed): `decision.recorded`. */
export interface OutreachRejection {
  type: "outreach_rejected";
  reason: string;
  actor: string | null;
}

/**
 * An outreach proposal put before reviewers: its pull request and head (or
 * base commit, for a check run), more state, and its expiry (the status is
 * set again so its tracked deadline moves). Only a pending proposal moves.
 */
export interface Publication {
  type: "published";
  prNumber: number | null;
  headSha: string;
  state: OutreachState;
  expiresAt: Date;
}

/** An outreach proposal that cannot be published (invalid config, no keyring): `outreach.config_error`; it stays pending. */
export interface PublicationFailure {
  type: "config_error";
  message: string;
}

export type DecisionChange =
  TallyChange | EvaluationChange | ExpiryChange | OutreachRejection | Publication | PublicationFailure;

export interface RecordOptions {
  /**
   * Where the audit events go when the caller appends several together
   * (appendAudits, the chain's head locked once); appended at once without it.
   */
  events?: AuditInput[];
}

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
  const emit = (event: AuditInput) =>
    options.events ? void options.events.push(event) : appendAudit(tx, proposal.installation_id, event, now);
  switch (change.type) {
    case "tally": {
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
      await emit({
        action: "decision.recorded",
        outcome: decision.status,
        ...(change.actor === undefined ? {} : { actor: change.actor }),
        ...(change.actorIsBot === undefined ? {} : { actorIsBot: change.actorIsBot }),
        repo: proposal.repo,
        subject: proposal.id,
        data: {
          kind: proposal.kind,
          digest: proposal.digest,
          ...change.data,
          decision: {
            status: decision.status,
            title: decision.title,
            approvers: decision.approvers,
            ...change.summary,
          },
        },
      });
      await queueWrites(tx, proposal, decision.status, decided);
      if (change.reviewers && decision.status === "pending")
        await queueReviewerRequest(tx, proposal, change.reviewers, now, emit);
      if (decided) await notify(tx, proposal, "decided", now);
      return decision.status;
    }
    case "evaluated": {
      const { status, state, approvers } = change;
      const decided = status !== "pending";
      if (!change.inserted) {
        await writeRow(tx, proposal, {
          status,
          state,
          approvers,
          reason: change.reason,
          decidedAt: decided ? (proposal.decided_at ?? now) : null,
          now,
        });
      }
      await emit({
        action: "decision.recorded",
        outcome: status,
        actor: change.actor,
        actorIsBot: change.actorIsBot,
        actorIsAgent: change.actorIsAgent,
        repo: proposal.repo,
        subject: proposal.id,
        data: {
          kind: proposal.kind,
          digest: proposal.digest,
          facts_digest: state.facts_digest,
          config_digest: state.config_digest,
          decision: { status, title: state.decision.title, approvers, refused: state.decision.refused },
        },
      });
      await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, status));
      if (change.reviewers && status === "pending")
        await queueReviewerRequest(tx, proposal, change.reviewers, now, emit);
      if (change.inserted && status === "pending") await notify(tx, proposal, "pending", now);
      else if (decided && (change.inserted || proposal.status === "pending"))
        await notify(tx, proposal, "decided", now);
      return status;
    }
    case "expired": {
      const previous = proposal.state.decision ?? {};
      await writeRow(tx, proposal, {
        status: "rejected",
        state: {
          ...proposal.state,
          decision: { ...previous, status: "rejected", title: "Expired without a decision" },
        },
        approvers: proposal.approvers,
        reason: "expired",
        decidedAt: now,
        now,
      });
      await emit({
        action: "proposal.expired",
        outcome: "rejected",
        repo: proposal.repo,
        subject: proposal.id,
        data: { kind: proposal.kind, digest: proposal.digest, expires_at: proposal.expires_at.toISOString() },
      });
      await queueWrites(tx, proposal, "rejected", true);
      await notify(tx, proposal, "expired", now);
      return "rejected";
    }
    case "outreach_rejected": {
      const { reason } = change;
      await writeRow(tx, proposal, {
        status: "rejected",
        state: {
          ...proposal.state,
          decision: { ...proposal.state.decision, title: `Rejected: ${reason.split(":")[0]}`, reasons: [reason] },
        },
        approvers: [],
        reason,
        decidedAt: now,
        now,
      });
      await emit({
        action: "decision.recorded",
        outcome: "rejected",
        actor: change.actor,
        repo: proposal.repo,
        subject: proposal.id,
        data: { kind: "outreach", digest: proposal.digest, decision: { status: "rejected", reason } },
      });
      // A proposal not yet published has no check run to bring up to date.
      if (proposal.kind === "outreach" && proposal.state.mode)
        await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, "rejected"));
      await notify(tx, proposal, "decided", now);
      return "rejected";
    }
    case "published": {
      parseState(proposal.id, proposal.kind, { ...proposal.state, ...change.state });
      await tx.query(
        `UPDATE proposals SET pr_number = $2, head_sha = $3, state = state || $4::jsonb, expires_at = $5, status = status
          WHERE id = $1 AND status = 'pending'`,
        [proposal.id, change.prNumber, change.headSha, JSON.stringify(change.state), change.expiresAt],
      );
      if (proposal.status === "pending") await notify(tx, proposal, "pending", now);
      return proposal.status;
    }
    case "config_error": {
      await tx.query(
        "UPDATE proposals SET state = state || jsonb_build_object('config_error', $2::text), updated_at = $3 WHERE id = $1",
        [proposal.id, change.message, now],
      );
      await emit({
        action: "outreach.config_error",
        outcome: "failed",
        repo: proposal.repo,
        subject: proposal.id,
        data: { error: change.message },
      });
      return proposal.status;
    }
  }
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

/**
 * A push to a pull request invalidates its commit proposals for other heads
 * (pending or decided): each is superseded, announced and gets a
 * `proposal.invalidated` event. Returns the proposals superseded.
 */
export async function recordSuperseded(
  tx: Queryable,
  pull: { installationId: number; repo: string; prNumber: number; headSha: string },
  actor: string | null,
  now: Date,
  options: RecordOptions = {},
): Promise<{ id: string; head_sha: string | null }[]> {
  // Superseded and announced in one round trip; the old rows' state is not read.
  const rows = await tx.query<{ id: string; head_sha: string | null; announced?: unknown }>(
    `WITH superseded AS (
       UPDATE proposals SET status = 'superseded', reason = 'a new commit was pushed', updated_at = $5,
              state = state || jsonb_build_object('superseded_by', $4::text)
        WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit'
          AND head_sha <> $4 AND status IN ('pending', 'approved', 'rejected')
        RETURNING id, head_sha)
     SELECT superseded.id, superseded.head_sha, pg_notify($6, superseded.id) AS announced FROM superseded`,
    [pull.installationId, pull.repo, pull.prNumber, pull.headSha, now, DECIDED_CHANNEL],
  );
  const superseded = rows.map(({ id, head_sha }) => ({ id, head_sha }));
  for (const old of superseded) {
    const event: AuditInput = {
      action: "proposal.invalidated",
      outcome: "superseded",
      actor,
      repo: pull.repo,
      subject: old.id,
      data: { kind: "commit", old_head: old.head_sha, new_head: pull.headSha, pr: pull.prNumber },
    };
    if (options.events) options.events.push(event);
    else await appendAudit(tx, pull.installationId, event, now);
    await notify(tx, { id: old.id, installation_id: pull.installationId }, "superseded", now);
  }
  return superseded;
}

/**
 * The pending proposals of an installation (or of the named repositories
 * only) rejected with reason "uninstalled", inside a tenant transaction: each
 * gets a `proposal.rejected` event and is announced to whoever long-polls it.
 * No GitHub write follows: the app has lost its access. Returns how many.
 */
export async function recordUninstalled(
  tx: Queryable,
  installationId: number,
  repos: string[] | null,
  now: Date,
): Promise<number> {
  const rejected = await tx.query<{ id: string; repo: string; kind: string; digest: string }>(
    `UPDATE proposals SET status = 'rejected', reason = 'uninstalled', decided_at = $3, updated_at = $3
      WHERE installation_id = $1 AND status = 'pending'
        AND ($2::text[] IS NULL OR lower(repo) = ANY (SELECT lower(name) FROM unnest($2::text[]) AS name))
      RETURNING id, repo, kind, digest`,
    [installationId, repos, now],
  );
  for (const proposal of rejected) {
    await appendAudit(
      tx,
      installationId,
      {
        action: "proposal.rejected",
        outcome: "rejected",
        repo: proposal.repo,
        subject: proposal.id,
        data: { reason: "uninstalled", kind: proposal.kind, digest: proposal.digest },
      },
      now,
    );
    await tx.query("SELECT pg_notify($1, $2)", [DECIDED_CHANNEL, proposal.id]);
  }
  return rejected.length;
}
