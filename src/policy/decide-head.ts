import { DEFAULT_CONFIG, type RepoConfig } from "./config.ts";
import { decideCommit, factsDigest, type CommitDecision, type CommitFacts, type Decision } from "./decision.ts";
import { isAgent } from "./eligibility.ts";
import { recognizeAgent } from "./agent-recognition.ts";
import { reviewersToRequest, type ReviewerRequest } from "./reviewer-requests.ts";

/** What a pull request's head is decided from, gathered before the decision and read from the proposal. */
export interface HeadInput {
  /** The config read for this head. */
  config: RepoConfig;
  /** The head's facts (null when the config does not parse), without its deadline. */
  gathered: Omit<CommitFacts, "deadline" | "expired"> | null;
  /** The proposal recorded for this head, if one stands (its deadline, whether it was decided or reopened). */
  recorded: { expiresAt: Date; status: string; reopened: boolean } | null;
  /** The repository's owner and the pull request's author: who may be asked to review. */
  owner: string;
  author: string;
  /** Who sent the event (the actor of the decision). */
  sender: { login: string; type: string } | null;
  now: Date;
}

/** The decision of a head and the proposal state that records it, so it can be replayed from the facts. */
export interface HeadOutcome {
  decision: CommitDecision | null;
  status: Decision["status"] | "exempt";
  /** Why a decided head is closed: "configuration error", "expired", "changes requested"; null otherwise. */
  reason: string | null;
  approvers: string[];
  expiresAt: Date;
  state: HeadState;
  /** Whose review could satisfy what is unmet, while the head waits. */
  reviewers?: ReviewerRequest;
  senderIsAgent: boolean;
}

export type HeadState = ReturnType<typeof headState>;

/**
 * The commit gate's decision on a head, with the proposal's deadline: a
 * review after it never counts. A config that does not parse rejects the
 * head; a head no agent proposed is exempt.
 */
export function decideHead(input: HeadInput): HeadOutcome {
  const { config, now } = input;
  const expiresAt =
    input.recorded?.expiresAt ??
    new Date(now.getTime() + (config.ok ? config.config.expiryMs : DEFAULT_CONFIG.expiryMs));
  const facts = input.gathered
    ? { ...input.gathered, deadline: expiresAt.toISOString(), expired: now.getTime() >= expiresAt.getTime() }
    : null;
  const decision = config.ok && facts ? decideCommit(facts, config.config, config.present) : null;
  const status = !decision ? "rejected" : !decision.agentProposed ? "exempt" : decision.status;
  const reopened =
    status === "pending" && input.recorded !== null && (input.recorded.status !== "pending" || input.recorded.reopened);
  const reason = !decision
    ? "configuration error"
    : decision.expired
      ? "expired"
      : status === "rejected"
        ? "changes requested"
        : null;
  const reviewers =
    decision && facts && status === "pending" && config.ok
      ? reviewersToRequest({
          decision,
          config: config.config,
          owner: input.owner,
          author: input.author,
          pusher: facts.pusher?.login ?? null,
          directors: recognizeAgent(facts, config.config, config.present).directors,
          ...(facts.rules ? { rules: facts.rules } : {}),
        })
      : undefined;
  const sender = input.sender;
  return {
    decision,
    status,
    reason,
    approvers: decision?.approvers ?? [],
    expiresAt,
    state: headState(config, facts, decision, reopened),
    ...(reviewers ? { reviewers } : {}),
    senderIsAgent: config.ok && sender ? isAgent(sender.login, sender.type, config.config, config.present) : false,
  };
}

function headState(config: RepoConfig, facts: CommitFacts | null, decision: CommitDecision | null, reopened: boolean) {
  return {
    decision: decision ?? configErrorDecision(config),
    config_errors: config.ok ? [] : config.errors,
    facts: facts ?? null,
    facts_digest: facts ? factsDigest(facts) : null,
    config_digest: config.ok ? config.digest : null,
    config: config.ok ? config.config : null,
    config_present: config.ok ? config.present : true,
    required: config.ok ? config.config.approvals.required : DEFAULT_CONFIG.approvals.required,
    min_permission: config.ok ? config.config.approvals.minPermission : DEFAULT_CONFIG.approvals.minPermission,
    ...(reopened ? { reopened: true } : {}),
  };
}

function configErrorDecision(config: RepoConfig): Decision {
  const errors = config.ok ? [] : config.errors;
  return {
    status: "rejected",
    required: 0,
    approvers: [],
    rejectedBy: [],
    refused: [],
    reasons: errors.map((error) => `${error.path}: ${error.message}`),
    title: "Configuration error in .github/agent-gate.yml",
  };
}
