import type { GateConfig } from "./config.ts";
import { reviewVotes, type ReviewFact } from "./decide-commit.ts";
import { applyRules, type RuleFacts } from "./decide-rules.ts";
import { tallyVotes, type Decision, type Wording } from "./tally.ts";

/** Everything the outreach gate needs to decide a proposal published as a pull request. */
export interface OutreachReviewFacts {
  /** Who submitted the proposal (an agent token or a workflow's actor). */
  author: string;
  /** The user whose workflow run submitted it, when there is one. */
  triggeredBy: string | null;
  /** Who pushed the checked head, when it is not the head published (a push that kept the proposal file). */
  pusher?: string | null;
  /** The pull request head whose proposal file was checked against the stored proposal. */
  headSha: string;
  reviews: ReviewFact[];
  expired?: boolean;
  /** The proposal's expiry (ISO 8601): a review submitted after it never counts. */
  deadline?: string | null;
  /** What the repository's rules need (the channel and site), when it has rules. */
  rules?: RuleFacts;
}

const OUTREACH_REVIEW_WORDING: Wording = {
  rejectTitle: "Changes requested by",
  rejectSentence: (logins) =>
    `${logins} requested changes; a change request by an eligible reviewer rejects the outreach.`,
};

/**
 * An outreach proposal under review as a pull request: approving reviews on
 * the checked head by eligible people approve it, under the same rules as
 * every gate (not the proposer, the user who triggered the run, a configured
 * agent or a bot; at least `approvals.min_permission`); an eligible change
 * request rejects it.
 */
export function decideOutreachReviews(
  facts: OutreachReviewFacts,
  config: GateConfig,
  configPresent: boolean,
): Decision {
  const context = {
    author: facts.author,
    triggeredBy: facts.triggeredBy,
    pusher: facts.pusher ?? null,
    config,
    configPresent,
    expired: facts.expired ?? false,
    deadline: facts.deadline ?? null,
  };
  const { votes, refused, notes } = reviewVotes(facts.reviews, facts.headSha, context);
  return applyRules(
    tallyVotes(votes, context, OUTREACH_REVIEW_WORDING, { refused, notes }),
    votes,
    context,
    facts.rules,
    "outreach",
  );
}
