import type { Context } from "probot";
import { appendAudits, type AuditInput } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { decideHead, type HeadOutcome } from "../policy/decide-head.ts";
import { newProposalId } from "../proposals/ids.ts";
import { recordDecision } from "../proposals/recorder.ts";
import { recordSuperseded } from "../proposals/recorder-bulk.ts";
import { findCommitProposal, insertProposal, newestCommitHead, type ProposalOf } from "../proposals/store.ts";
import { claimDelivery, type Delivery } from "../webhooks/ledger.ts";
import { gatherHead, type GatheredHead } from "./commit-facts.ts";
import { finalReason, ignoredEvent } from "./commit-final.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { pullEventOf, type HeadEvent, type PullContext } from "./pull-event.ts";

export { COMMIT_CHECK_NAME } from "../policy/check-names.ts";

/** The commit gate: an agent's pull request waits for an eligible approving review on its head. */
export async function evaluatePull(context: PullContext, deps: GateDeps): Promise<void> {
  const event = pullEventOf(context.payload);
  if (!event) {
    context.log.warn("pull request event without an installation; ignored");
    return;
  }
  await evaluateHead(context, event, deps);
}

/**
 * One head through the commit gate: 1. gather its facts (GitHub and the
 * proposals, outside the transaction), 2. decide (policy/, pure), 3. record
 * (the GitHub write is queued in the same transaction and published by the
 * outbox). `context` is the delivery's: its id, event and sender are the
 * delivery recorded, its installation client reads GitHub.
 */
export async function evaluateHead(context: Context, event: HeadEvent, deps: GateDeps): Promise<void> {
  const gathered = await gatherHead(context, event, deps);
  const delivery = deliveryOf(context, deps.appId);
  const now = deps.now();
  await deps.db.tenant(event.installationId, async (tx) => {
    // The events are appended together at the end: the chain's head stays locked only briefly.
    const audit: AuditInput[] = [await claimDelivery(tx, delivery, now)];
    const recorded = await findCommitProposal(
      tx,
      event.installationId,
      event.fullName,
      event.pull.number,
      event.pull.headSha,
    );
    const standing = await headInPlace(tx, event, gathered, recorded);
    if (!standing.ok) {
      audit.push(ignoredEvent(delivery, event.fullName, recorded?.id ?? null, standing.ignored));
      await appendAudits(tx, event.installationId, audit, now);
      return;
    }
    // The pull request back on a superseded head makes a new proposal.
    const proposal = recorded && finalReason(recorded) !== "superseded" ? recorded : undefined;
    const outcome = decideHead({
      config: standing.config,
      gathered: gathered.facts,
      recorded: proposal
        ? { expiresAt: proposal.expires_at, status: proposal.status, reopened: proposal.state.reopened === true }
        : null,
      owner: event.repo.owner,
      author: gathered.pull.author.login,
      sender: delivery.sender,
      now,
    });
    await recordHead(tx, { event, pull: gathered.pull, delivery, proposal, outcome, audit }, now);
    await appendAudits(tx, event.installationId, audit, now);
  });
  deps.queued?.();
}

type Ignored = Parameters<typeof ignoredEvent>[3];

/**
 * Whether the head is still the one to decide, re-checked under the
 * transaction: a newer head recorded meanwhile makes the event stale, and a
 * proposal expired (or superseded, unless a push brought the head back) is final.
 */
async function headInPlace(
  tx: Queryable,
  event: HeadEvent,
  gathered: GatheredHead,
  proposal: ProposalOf<"commit"> | undefined,
): Promise<{ ok: true; config: NonNullable<GatheredHead["config"]> } | { ok: false; ignored: Ignored }> {
  const { standing, config } = gathered;
  const { pull } = event;
  const moved = standing.kind === "confirmed" || standing.kind === "pushed";
  const newest = moved ? pull.headSha : await newestCommitHead(tx, event.installationId, event.fullName, pull.number);
  const stale =
    standing.kind === "stale" ? standing.current : newest !== null && newest !== pull.headSha ? newest : null;
  const final = proposal ? finalReason(proposal) : null;
  if (stale === null && config && (!final || (final === "superseded" && moved))) return { ok: true, config };
  const why = stale !== null ? "stale" : (final ?? "stale");
  return { ok: false, ignored: { why, pr: pull.number, head: pull.headSha, current: stale } };
}

interface HeadRecord {
  event: HeadEvent;
  pull: GatheredHead["pull"];
  delivery: Delivery;
  /** The proposal standing for this head; none makes one. */
  proposal: ProposalOf<"commit"> | undefined;
  outcome: HeadOutcome;
  /** The audit events of this delivery, appended by the caller. */
  audit: AuditInput[];
}

/** The decision recorded: older heads superseded, the proposal created if new, the decision stored with its check run. */
async function recordHead(tx: Queryable, record: HeadRecord, now: Date): Promise<void> {
  const { event, pull, delivery, outcome, audit } = record;
  const { installationId, fullName } = event;
  const actor = delivery.sender?.login ?? null;
  await recordSuperseded(
    tx,
    { installationId, repo: fullName, prNumber: pull.number, headSha: pull.headSha },
    actor,
    now,
    {
      events: audit,
    },
  );
  const decided = outcome.status !== "pending";
  const inserted = !record.proposal;
  const proposal =
    record.proposal ??
    (await insertProposal(tx, {
      id: newProposalId(),
      installationId,
      repo: fullName,
      repoId: event.repoId,
      kind: "commit",
      status: outcome.status,
      digest: pull.headSha,
      headSha: pull.headSha,
      prNumber: pull.number,
      author: pull.author.login,
      summary: `Pull request #${pull.number} at ${pull.headSha.slice(0, 7)}`,
      details: { pr_title_length: event.titleLength, author_type: pull.author.type, base: pull.baseRef },
      state: outcome.state,
      approvers: outcome.approvers,
      reason: outcome.reason,
      decidedAt: decided ? now : null,
      expiresAt: outcome.expiresAt,
      now,
    }));
  if (inserted) {
    audit.push({
      action: "proposal.created",
      outcome: outcome.status,
      actor: pull.author.login,
      actorIsBot: pull.author.type === "Bot",
      actorIsAgent: outcome.decision?.agentProposed ?? false,
      repo: fullName,
      subject: proposal.id,
      data: { kind: "commit", digest: pull.headSha, pr: pull.number },
    });
  }
  await recordDecision(
    tx,
    proposal,
    {
      type: "evaluated",
      status: outcome.status,
      state: outcome.state,
      approvers: outcome.approvers,
      reason: outcome.reason,
      actor,
      actorIsBot: delivery.sender?.type === "Bot",
      actorIsAgent: outcome.senderIsAgent,
      inserted,
      ...(outcome.reviewers ? { reviewers: outcome.reviewers } : {}),
    },
    now,
    { events: audit },
  );
}
