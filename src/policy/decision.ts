import { canonicalDigest } from "./digest.ts";
import { applyRules, type RuleFacts } from "./decide-rules.ts";
import { tallyVotes, VOTE_WORDING, type Decision, type Vote, type VoteContext } from "./tally.ts";

export type { Decision, Refusal, Vote, VoteContext } from "./tally.ts";
export type { RuleFacts, RuleResult, MembershipFact } from "./decide-rules.ts";
export { decideCommit, type CommitDecision, type CommitFacts, type ReviewFact } from "./decide-commit.ts";
export { decideOutreachReviews, type OutreachReviewFacts } from "./decide-outreach.ts";

/**
 * Decides a proposal from Approve / Reject votes (check-run buttons, review
 * page): each person's latest vote counts once, ineligible votes are refused
 * with a reason and change nothing, any eligible rejection wins,
 * `approvals.required` distinct eligible approvers approve, and a proposal
 * still undecided at its expiry is rejected.
 */
export function decideVotes(votes: Vote[], context: VoteContext, rules?: RuleFacts): Decision {
  const tally = tallyVotes(votes, context, VOTE_WORDING);
  return applyRules(tally, votes, context, rules, rules?.subject.kind ?? "deploy");
}

/** SHA-256 (hex) of the canonical JSON of a facts object, recorded so a decision can be replayed. */
export function factsDigest(facts: unknown): string {
  return canonicalDigest(facts);
}
