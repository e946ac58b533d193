import type { AuditInput } from "../audit/log.ts";
import type { Decision } from "../policy/decision.ts";
import type { ReviewerRequest } from "../policy/reviewer-requests.ts";
import type { CommitState, OutreachState, ProposalState } from "./state.ts";
import type { ProposalStatus } from "./store.ts";

/*
 * The changes of a proposal that the recorder (./recorder.ts) records, one
 * kind each; recordDecision records each kind with a function of its own.
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
