import type { GateConfig } from "./config.ts";
import { describeFinding, recognizeAgent, type AgentFacts, type AgentFinding } from "./agent-recognition.ts";
import { checkApprover, type Actor, type ApproverContext } from "./eligibility.ts";
import { applyRules, type RuleFacts } from "./decide-rules.ts";
import { latestPerLogin, tallyVotes, type Decision, type Refusal, type Vote, type Wording } from "./tally.ts";

/** One pull request review, as GitHub lists it, with the reviewer's permission. */
export interface ReviewFact {
  reviewer: Actor;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
  commitId: string | null;
  submittedAt: string;
}

/** Everything the commit gate needs to decide a pull request: who and what made the head (see AgentFacts), and its reviews. */
export interface CommitFacts extends AgentFacts {
  headSha: string;
  /** The pull request's base branch the head was decided for (an approval holds for that base only). */
  base?: string;
  reviews: ReviewFact[];
  /** The proposal's expiry (ISO 8601): a review submitted after it never counts. */
  deadline?: string | null;
  /** The expiry had passed when the facts were gathered. */
  expired?: boolean;
  /** What the repository's rules need (changed files, CODEOWNERS, team memberships), when it has rules. */
  rules?: RuleFacts;
}

/** The decision, with what recognised the agent (every finding, each with its rule and commit). */
export type CommitDecision = Decision & { agentProposed: boolean; recognition?: AgentFinding[] };

const REVIEW_WORDING: Wording = {
  rejectTitle: "Changes requested by",
  rejectSentence: (logins) => `${logins} requested changes; a change request by an eligible reviewer blocks the merge.`,
};

function shortSha(sha: string | null): string {
  return sha ? sha.slice(0, 7) : "no commit";
}

function isOnHead(commitId: string | null, headSha: string): boolean {
  return Boolean(commitId) && Boolean(headSha) && commitId!.toLowerCase() === headSha.toLowerCase();
}

/** Each reviewer's latest state-changing review; COMMENTED changes nothing. */
function latestReviews(reviews: readonly ReviewFact[]): ReviewFact[] {
  return latestPerLogin(
    reviews.filter((review) => review.state !== "COMMENTED"),
    (review) => review.reviewer.login,
    (review) => review.submittedAt,
  );
}

/** What a set of pull request reviews says, as votes for the tally. */
export interface ReviewVotes {
  votes: Vote[];
  /** Approvals that do not count because they were given on another commit. */
  refused: Refusal[];
  /** Sentences about reviews that count for nothing (dismissed). */
  notes: string[];
}

/**
 * GitHub review semantics as votes: per reviewer the latest of APPROVED,
 * CHANGES_REQUESTED or DISMISSED counts; an approval binds to the commit it was
 * given on (an eligible approval of another commit is refused with why); a
 * change request rejects whatever commit it was on; a dismissal counts for
 * nothing.
 */
export function reviewVotes(reviews: readonly ReviewFact[], headSha: string, context: ApproverContext): ReviewVotes {
  const votes: Vote[] = [];
  const refused: Refusal[] = [];
  const notes: string[] = [];
  for (const review of latestReviews(reviews)) {
    const { reviewer } = review;
    if (review.state === "DISMISSED") {
      notes.push(`${reviewer.login}'s review was dismissed, so it no longer counts.`);
    } else if (review.state === "CHANGES_REQUESTED") {
      votes.push({ actor: reviewer, vote: "reject", at: review.submittedAt });
    } else if (isOnHead(review.commitId, headSha) || !checkApprover(reviewer, context).eligible) {
      votes.push({ actor: reviewer, vote: "approve", at: review.submittedAt });
    } else {
      refused.push({
        login: reviewer.login,
        reason: `approved an older commit (${shortSha(review.commitId)}), not the current head (${shortSha(headSha)}); a new approval is needed`,
      });
    }
  }
  return { votes, refused, notes };
}

/**
 * The commit gate: a pull request by an agent needs approving reviews on its
 * current head. GitHub review semantics: per reviewer the latest of APPROVED,
 * CHANGES_REQUESTED or DISMISSED counts; an approval binds to the commit it
 * was given on; a change request blocks whatever commit it was on; a
 * dismissal leaves that reviewer counting for nothing. A pull request not by
 * an agent passes, so the required check never blocks human work.
 */
export function decideCommit(facts: CommitFacts, config: GateConfig, configPresent: boolean): CommitDecision {
  const required = config.approvals.required;
  const recognition = recognizeAgent(facts, config, configPresent);
  if (!recognition.agentProposed) {
    return {
      status: "approved",
      required,
      approvers: [],
      rejectedBy: [],
      refused: [],
      reasons: [
        `${facts.author} is not an agent, and no commit in this pull request is by an agent, so it needs no approval from Agent Gate.`,
      ],
      title: "Not agent-proposed",
      agentProposed: false,
    };
  }
  const context = {
    author: facts.author,
    pusher: facts.pusher?.login ?? null,
    config,
    configPresent,
    directors: recognition.directors,
    deadline: facts.deadline ?? null,
    expired: facts.expired ?? false,
  };
  const { votes, refused, notes } = reviewVotes(facts.reviews, facts.headSha, context);
  const agentNotes = recognition.findings.map(describeFinding);
  const tally = tallyVotes(votes, context, REVIEW_WORDING, { refused, notes: [...agentNotes, ...notes] });
  return {
    ...applyRules(tally, votes, context, facts.rules, "commit"),
    agentProposed: true,
    recognition: recognition.findings,
  };
}
