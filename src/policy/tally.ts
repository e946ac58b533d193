import { checkApprover, type Actor, type ApproverContext } from "./eligibility.ts";
import { normalizeLogin } from "./logins.ts";
import type { RuleResult } from "./decide-rules.ts";

/** One person's click or review, as the policy sees it. */
export interface Vote {
  actor: Actor;
  vote: "approve" | "reject";
  /** ISO 8601 time of the vote; the latest vote of each person counts. */
  at: string;
  /** Where it was cast ("check_run", "review_page"); recorded, never weighed. */
  via?: string;
}

export interface Refusal {
  login: string;
  reason: string;
}

/** The state of a proposal, with the reasons a person reads. */
export interface Decision {
  status: "pending" | "approved" | "rejected";
  required: number;
  /** Distinct eligible approvers, sorted. */
  approvers: string[];
  /** Distinct eligible rejecters, sorted. */
  rejectedBy: string[];
  /** Votes that do not count, each with why. */
  refused: Refusal[];
  /** Sentences explaining the state. */
  reasons: string[];
  /** One line, e.g. "Waiting for approval (0/1)", "Approved by alice". */
  title: string;
  /** Set when the proposal was rejected because it expired undecided. */
  expired?: true;
  /** The table of rules (decide-rules.ts), when the repository has any: `approvals` first. */
  rules?: RuleResult[];
}

export interface VoteContext extends ApproverContext {
  /** The proposal's expiry has passed. */
  expired?: boolean;
  /** The proposal's expiry (ISO 8601): a vote cast after it never counts, whenever it is tallied. */
  deadline?: string | null;
}

/** How a gate words a rejection: a check-run button or a pull request review. */
export interface Wording {
  rejectTitle: string;
  rejectSentence: (logins: string) => string;
}

export const VOTE_WORDING: Wording = {
  rejectTitle: "Rejected by",
  rejectSentence: (logins) => `${logins} rejected the proposal; a rejection by an eligible person wins.`,
};

export interface TallyExtras {
  /** Refusals decided before the tally (e.g. an approval of an older commit). */
  refused?: Refusal[];
  /** Extra sentences (e.g. a dismissed review). */
  notes?: string[];
}

/** "alice", "alice and bob", "alice, bob and carol". */
export function listLogins(logins: readonly string[]): string {
  if (logins.length <= 1) return logins[0] ?? "";
  return `${logins.slice(0, -1).join(", ")} and ${logins[logins.length - 1]}`;
}

function timeOf(at: string): number {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/**
 * Each person's latest item by time (a later entry wins a tie; an unreadable
 * time counts as earliest), one per normalised login.
 */
export function latestPerLogin<T>(items: readonly T[], login: (item: T) => string, at: (item: T) => string): T[] {
  const ordered = items.map((item, index) => ({ item, index, time: timeOf(at(item)) }));
  ordered.sort((a, b) => (a.time === b.time ? a.index - b.index : a.time < b.time ? -1 : 1));
  const latest = new Map<string, T>();
  for (const { item } of ordered) latest.set(normalizeLogin(login(item)), item);
  return [...latest.values()];
}

function byLogin(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The one tally every gate uses: latest vote per person, ineligible votes
 * refused with their reason, any eligible rejection wins, `required` distinct
 * eligible approvers approve, and an undecided proposal past its expiry is
 * rejected.
 */
export function tallyVotes(
  votes: readonly Vote[],
  context: VoteContext,
  wording: Wording,
  extras: TallyExtras = {},
): Decision {
  const required = context.config.approvals.required;
  const approvers: string[] = [];
  const rejectedBy: string[] = [];
  const refused: Refusal[] = [...(extras.refused ?? [])];
  const deadline = context.deadline ? timeOf(context.deadline) : Number.POSITIVE_INFINITY;
  // A vote after the deadline is dropped before "latest per person", so it cannot displace an earlier one either.
  const inTime = votes.filter((vote) => {
    const at = timeOf(vote.at);
    if (!context.deadline || (Number.isFinite(at) && at <= deadline)) return true;
    refused.push({
      login: vote.actor.login,
      reason: `voted at ${vote.at}, after the proposal expired at ${context.deadline}`,
    });
    return false;
  });
  for (const vote of latestPerLogin(
    inTime,
    (v) => v.actor.login,
    (v) => v.at,
  )) {
    const eligibility = checkApprover(vote.actor, context);
    if (!eligibility.eligible) refused.push({ login: vote.actor.login, reason: eligibility.reason });
    else if (vote.vote === "approve") approvers.push(vote.actor.login);
    else rejectedBy.push(vote.actor.login);
  }
  approvers.sort(byLogin);
  rejectedBy.sort(byLogin);
  refused.sort((a, b) => byLogin(a.login, b.login));

  const count = `${approvers.length}/${required}`;
  let status: Decision["status"];
  let title: string;
  let summary: string;
  if (rejectedBy.length > 0) {
    status = "rejected";
    title = `${wording.rejectTitle} ${listLogins(rejectedBy)}`;
    summary = wording.rejectSentence(listLogins(rejectedBy));
  } else if (approvers.length >= required) {
    status = "approved";
    title = `Approved by ${listLogins(approvers)}`;
    summary = `Approved by ${listLogins(approvers)} (${count} required approvals).`;
  } else if (context.expired) {
    status = "rejected";
    title = `Expired without approval (${count})`;
    summary = `The proposal expired before it was decided, with ${count} approvals, so it is rejected.`;
  } else {
    status = "pending";
    title = `Waiting for approval (${count})`;
    const minimum = context.config.approvals.minPermission;
    summary =
      approvers.length === 0
        ? `Waiting for ${required} approval${required === 1 ? "" : "s"} from people with ${minimum} permission or higher; none yet.`
        : `${count} approvals so far, by ${listLogins(approvers)}; ${required - approvers.length} more needed.`;
  }
  const reasons = [
    summary,
    ...(extras.notes ?? []),
    ...refused.map((refusal) => `${refusal.login} does not count: ${refusal.reason}.`),
  ];
  const expired = status === "rejected" && rejectedBy.length === 0 ? { expired: true as const } : {};
  return { status, required, approvers, rejectedBy, refused, reasons, title, ...expired };
}
