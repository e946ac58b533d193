import type { GateConfig } from "./config.ts";
import { agentEntryOf } from "./agent-recognition.ts";
import { ownersOf, parseCodeowners, type Owner } from "./codeowners.ts";
import type { RuleFacts, RuleResult } from "./decide-rules.ts";
import { isBotAccount, normalizeLogin, sameLogin } from "./logins.ts";
import { matchRule, type Rule } from "./rules.ts";
import type { Decision } from "./tally.ts";

/** GitHub requests at most this many reviewers (people and teams together) on a pull request. */
export const MAX_REQUESTED_REVIEWERS = 15;

/** What a waiting head's reviewer request is decided from: its decision, the config and who may not be asked. */
export interface ReviewerRequestFacts {
  decision: Decision;
  config: GateConfig;
  /** The repository's owner: only its own teams can be requested. */
  owner: string;
  /** Who proposed (the pull request's author, or the agent that submitted an outreach proposal). */
  author: string;
  /** Who pushed the head, when known. */
  pusher?: string | null;
  /** The user whose workflow run submitted the proposal, when there is one. */
  triggeredBy?: string | null;
  /** Humans who directed the agent's work (agent-recognition.ts). */
  directors?: readonly string[];
  /** What the rules were decided on (changed files, CODEOWNERS, memberships), when the repository has rules. */
  rules?: RuleFacts;
}

/** One candidate left out, with why (recorded in the audit event). */
export interface LeftOut {
  who: string;
  reason: string;
}

/** Whom to ask: logins as `reviewers`, team slugs (without the organization) as `team_reviewers`, as GitHub takes them. */
export interface ReviewerRequest {
  reviewers: string[];
  teamReviewers: string[];
  leftOut: LeftOut[];
}

type Candidate = { kind: "user"; login: string } | { kind: "team"; org: string; slug: string };

function candidateOf(entry: string): Candidate | null {
  const text = entry.replace(/^@/, "");
  const slash = text.indexOf("/");
  if (slash === -1) return text ? { kind: "user", login: text } : null;
  const org = text.slice(0, slash);
  const slug = text.slice(slash + 1);
  return org && slug ? { kind: "team", org, slug } : null;
}

function ownerCandidate(owner: Owner): Candidate | null {
  return owner.kind === "user" ? { kind: "user", login: owner.login } : candidateOf(owner.team);
}

/**
 * The code owners of the files an unmet code-owner rule covers whose
 * approval is still missing: a file none of whose owners approved (in
 * person, or as a member of an owning team) asks all its owners.
 */
function missingOwners(rule: Rule, result: RuleResult, facts: RuleFacts | undefined): Candidate[] {
  if (!rule.require.codeowners || !facts?.codeowners) return [];
  const match = matchRule(rule, facts.subject);
  if (match.applies !== true) return [];
  const lookup = ownersOf(parseCodeowners(facts.codeowners.text));
  const approved = (owner: Owner): boolean =>
    result.approvedBy.some((login) =>
      owner.kind === "user"
        ? sameLogin(owner.login, login)
        : (facts.memberships ?? []).some(
            (m) => m.member && m.team.toLowerCase() === owner.team.toLowerCase() && sameLogin(m.login, login),
          ),
    );
  const out: Candidate[] = [];
  for (const file of match.files ?? []) {
    const owners = lookup(file).entry?.owners ?? [];
    if (owners.length === 0 || owners.some(approved)) continue;
    for (const owner of owners) {
      const candidate = ownerCandidate(owner);
      if (candidate) out.push(candidate);
    }
  }
  return out;
}

/** Why a person may not be asked, or null when they may. The same people eligibility.ts never counts. */
function excluded(login: string, facts: ReviewerRequestFacts, approvers: readonly string[]): string | null {
  if (sameLogin(login, facts.author)) return "the author";
  if (sameLogin(login, facts.pusher)) return "pushed the head";
  if (sameLogin(login, facts.triggeredBy)) return "triggered the run";
  if (agentEntryOf({ login }, facts.config, true)) return "an agent";
  if (isBotAccount(login, "User")) return "a bot";
  if (!facts.config.approvals.allowDirectingHuman && facts.directors?.some((director) => sameLogin(director, login))) {
    return "directed the agent's work";
  }
  if (approvers.some((approver) => sameLogin(approver, login))) return "already approved";
  return null;
}

/**
 * Whose review to request on GitHub for a waiting head: the code owners of
 * the files an unmet code-owner rule covers, the users and teams an unmet
 * rule names, and `notify.reviewers`. Never the author, the pusher, the user
 * who triggered the run, an agent, a bot or whoever directed the agent (even
 * when a rule or CODEOWNERS names them), nor anyone who already approved;
 * teams only of the repository's own organization; at most GitHub's limit.
 * Nothing while the proposal is not waiting. Pure.
 */
export function reviewersToRequest(facts: ReviewerRequestFacts): ReviewerRequest {
  const { decision, config } = facts;
  const none: ReviewerRequest = { reviewers: [], teamReviewers: [], leftOut: [] };
  if (decision.status !== "pending") return none;

  const candidates: Candidate[] = [];
  const unmet = (decision.rules ?? []).filter((result) => result.status === "pending" || result.status === "error");
  for (const result of unmet) {
    const rule = (config.rules ?? []).find((r) => r.name === result.name);
    if (!rule) continue; // the `approvals` row: nobody in particular can satisfy it
    candidates.push(...missingOwners(rule, result, facts.rules));
    for (const login of rule.require.users ?? []) candidates.push({ kind: "user", login });
    for (const team of rule.require.teams ?? []) {
      const candidate = candidateOf(team);
      if (candidate) candidates.push(candidate);
    }
  }
  for (const entry of config.notify?.reviewers ?? []) {
    const candidate = candidateOf(entry);
    if (candidate) candidates.push(candidate);
  }

  const approvers = [...decision.approvers, ...(decision.rules ?? []).flatMap((result) => result.approvedBy)];
  const users = new Map<string, string>();
  const teams = new Map<string, string>();
  const leftOut = new Map<string, LeftOut>();
  for (const candidate of candidates) {
    if (candidate.kind === "user") {
      const key = normalizeLogin(candidate.login);
      if (users.has(key) || leftOut.has(key)) continue;
      const reason = excluded(candidate.login, facts, approvers);
      if (reason) leftOut.set(key, { who: candidate.login, reason });
      else users.set(key, candidate.login);
    } else {
      const name = `@${candidate.org}/${candidate.slug}`;
      const key = name.toLowerCase();
      if (teams.has(key) || leftOut.has(key)) continue;
      if (candidate.org.toLowerCase() !== facts.owner.toLowerCase())
        leftOut.set(key, { who: name, reason: `a team of another organization than ${facts.owner}` });
      else teams.set(key, candidate.slug);
    }
  }

  const byName = (a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase());
  const reviewers = [...users.values()].sort(byName);
  const teamReviewers = [...teams.values()].sort(byName);
  const room = Math.max(0, MAX_REQUESTED_REVIEWERS - reviewers.length);
  const over = [
    ...reviewers.slice(MAX_REQUESTED_REVIEWERS),
    ...teamReviewers.slice(room).map((slug) => `@${facts.owner}/${slug}`),
  ];
  for (const who of over)
    leftOut.set(`over:${who.toLowerCase()}`, {
      who,
      reason: `over GitHub's limit of ${MAX_REQUESTED_REVIEWERS} requested reviewers`,
    });
  return {
    reviewers: reviewers.slice(0, MAX_REQUESTED_REVIEWERS),
    teamReviewers: teamReviewers.slice(0, room),
    leftOut: [...leftOut.values()],
  };
}
