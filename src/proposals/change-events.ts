import type { AuditInput } from "../audit/log.ts";
import type { EvaluationChange, OutreachRejection, PublicationFailure, TallyChange } from "./changes.ts";
import type { ProposalRow } from "./store.ts";

/*
 * The audit event of each change the recorder (./recorder.ts) records: what
 * the log says happened to a proposal, built from the change and the row as
 * it was read (digests and identifiers, never outreach text).
 */

/** `decision.recorded` for a tally of votes or reviews. */
export function tallyEvent(proposal: ProposalRow, change: TallyChange): AuditInput {
  const { decision } = change;
  return {
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
      decision: { status: decision.status, title: decision.title, approvers: decision.approvers, ...change.summary },
    },
  };
}

/** `decision.recorded` for the commit gate's evaluation of a head, with the digests of its facts and config. */
export function evaluationEvent(proposal: ProposalRow, change: EvaluationChange): AuditInput {
  const { status, state, approvers } = change;
  return {
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
  };
}

/** `proposal.expired`: rejected when its expiry passed undecided. */
export function expiryEvent(proposal: ProposalRow): AuditInput {
  return {
    action: "proposal.expired",
    outcome: "rejected",
    repo: proposal.repo,
    subject: proposal.id,
    data: { kind: proposal.kind, digest: proposal.digest, expires_at: proposal.expires_at.toISOString() },
  };
}

/** `decision.recorded` for an outreach proposal rejected by what happened to its pull request or file. */
export function outreachRejectionEvent(proposal: ProposalRow, change: OutreachRejection): AuditInput {
  return {
    action: "decision.recorded",
    outcome: "rejected",
    actor: change.actor,
    repo: proposal.repo,
    subject: proposal.id,
    data: { kind: "outreach", digest: proposal.digest, decision: { status: "rejected", reason: change.reason } },
  };
}

/** `outreach.config_error`: the proposal cannot be published and stays pending. */
export function configErrorEvent(proposal: ProposalRow, change: PublicationFailure): AuditInput {
  return {
    action: "outreach.config_error",
    outcome: "failed",
    repo: proposal.repo,
    subject: proposal.id,
    data: { error: change.message },
  };
}
