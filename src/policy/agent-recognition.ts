import type { GateConfig } from "./config.ts";
import { coAuthorsOf, loginOfNoreply } from "./co-authors.ts";
import { KNOWN_AGENTS, type KnownAgent } from "./known-agents.ts";
import { isBotAccount, normalizeLogin, sameLogin } from "./logins.ts";

/** A git identity as GitHub lists it on a commit: the account it maps to (if any) and the name and email written. */
export interface GitIdentity {
  login: string | null;
  type: string | null;
  name: string | null;
  email: string | null;
}

/** One commit of a pull request (GET /pulls/{n}/commits). */
export interface PullCommitFact {
  sha: string;
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
}

/** What recognition reads: who opened the pull request, who pushed, and its commits. */
export interface AgentFacts {
  author: string;
  authorType: string;
  /** The sender of a `synchronize` event: who pushed the head. */
  pusher?: { login: string; type: string } | null;
  commits?: PullCommitFact[];
  /** How many commits the pull request has, as its event says: more than the list holds means some could not be checked. */
  commitCount?: number;
  assignees?: string[];
  requestedReviewers?: string[];
}

/** The rule that recognised an agent. */
export type AgentRule = "author" | "pusher" | "commit_author" | "committer" | "co_author_trailer" | "unlisted_commits";

/** GitHub lists at most this many commits of a pull request. */
export const LISTED_COMMITS_CAP = 250;

export interface AgentFinding {
  rule: AgentRule;
  /** The login or email that matched. */
  identity: string;
  /** Which list entry matched: a known agent's name, "configured agent" or "bot account". */
  entry: string;
  /** The commit it was found on, for commit rules. */
  commit: string | null;
}

export interface AgentRecognition {
  agentProposed: boolean;
  findings: AgentFinding[];
  /** Humans who directed the agent's work (co-authors of its commits; assignees and requested reviewers of an assigned agent). */
  directors: string[];
}

/** GitHub's own committer for web edits and merges; never a person who directed anything. */
const GITHUB_COMMITTER = "web-flow";

function excluded(config: GateConfig, login: string): boolean {
  return (config.agentExclusions ?? []).some((name) => sameLogin(name, login));
}

function entryExcluded(config: GateConfig, entry: KnownAgent): boolean {
  return excluded(config, entry.id) || entry.logins.some((login) => excluded(config, login));
}

function knownEntries(config: GateConfig): KnownAgent[] {
  return config.knownAgents ? KNOWN_AGENTS.filter((entry) => !entryExcluded(config, entry)) : [];
}

interface Candidate {
  login?: string | null;
  type?: string | null;
  email?: string | null;
}

/**
 * The list entry an identity belongs to, or null: a login named in `agents`,
 * a known agent's login or commit email (a GitHub noreply address counts as
 * its login), or, without a config file, any bot account. An excluded login
 * is never an agent.
 */
export function agentEntryOf(
  candidate: Candidate,
  config: GateConfig,
  configPresent: boolean,
): KnownAgent | "configured agent" | "bot account" | null {
  const logins = [candidate.login, loginOfNoreply(candidate.email)].filter((login): login is string => Boolean(login));
  const email = candidate.email?.trim().toLowerCase() ?? "";
  for (const login of logins) {
    if (excluded(config, login)) return null;
    if (config.agents.some((agent) => sameLogin(agent, login))) return "configured agent";
  }
  for (const entry of knownEntries(config)) {
    if (logins.some((login) => entry.logins.some((known) => sameLogin(known, login)))) return entry;
    if (email && entry.emails.includes(email)) return entry;
  }
  if (!configPresent && logins.some((login) => isBotAccount(login, candidate.type ?? ""))) return "bot account";
  return null;
}

function entryName(entry: KnownAgent | "configured agent" | "bot account"): string {
  return typeof entry === "string" ? entry : entry.name;
}

/**
 * Whether a pull request head is agent-proposed, and by which rule: its
 * author, the pusher of the head, or any commit in it authored or committed
 * by an agent or naming a known agent in a `Co-authored-by:` trailer. Every
 * finding is kept, so the check run can say which commit made it
 * agent-proposed. Pure: facts and config in, findings out.
 */
export function recognizeAgent(facts: AgentFacts, config: GateConfig, configPresent: boolean): AgentRecognition {
  const findings: AgentFinding[] = [];
  const directors = new Map<string, string>();
  const assigned = { value: false };
  const note = (rule: AgentRule, identity: string, entry: ReturnType<typeof agentEntryOf>, commit: string | null) => {
    if (!entry) return false;
    findings.push({ rule, identity, entry: entryName(entry), commit });
    if (typeof entry !== "string" && entry.directed_by_assignment) assigned.value = true;
    return true;
  };
  note(
    "author",
    facts.author,
    agentEntryOf({ login: facts.author, type: facts.authorType }, config, configPresent),
    null,
  );
  if (facts.pusher) note("pusher", facts.pusher.login, agentEntryOf(facts.pusher, config, configPresent), null);

  for (const commit of facts.commits ?? []) {
    const people: string[] = [];
    let agentCommit = false;
    for (const [rule, identity] of [
      ["commit_author", commit.author],
      ["committer", commit.committer],
    ] as const) {
      const entry = agentEntryOf(identity, config, configPresent);
      if (note(rule, identity.login ?? identity.email ?? identity.name ?? "unknown", entry, commit.sha))
        agentCommit = true;
      else if (identity.login && !sameLogin(identity.login, GITHUB_COMMITTER)) people.push(identity.login);
    }
    for (const coAuthor of coAuthorsOf(commit.message)) {
      const entry = agentEntryOf({ email: coAuthor.email }, config, configPresent);
      // A trailer names agents only from the lists, never as a "bot account": its text is the committer's to write.
      const listed = entry === "bot account" ? null : entry;
      if (note("co_author_trailer", coAuthor.email || coAuthor.name, listed, commit.sha)) agentCommit = true;
      else {
        const login = loginOfNoreply(coAuthor.email);
        if (login) people.push(login);
      }
    }
    if (agentCommit) for (const login of people) directors.set(normalizeLogin(login), login);
  }
  // GitHub lists only the first 250 commits: an agent's commit past them cannot be ruled out, so the gate stays closed.
  const listed = facts.commits?.length ?? 0;
  if (facts.commits && facts.commitCount !== undefined && listed >= LISTED_COMMITS_CAP && facts.commitCount > listed) {
    findings.push({
      rule: "unlisted_commits",
      identity: `${facts.commitCount - listed} of ${facts.commitCount} commits`,
      entry: "not listed by GitHub",
      commit: null,
    });
  }
  if (assigned.value) {
    for (const login of [...(facts.assignees ?? []), ...(facts.requestedReviewers ?? [])]) {
      if (!agentEntryOf({ login }, config, configPresent)) directors.set(normalizeLogin(login), login);
    }
  }
  for (const finding of findings) directors.delete(normalizeLogin(finding.identity));
  return { agentProposed: findings.length > 0, findings, directors: [...directors.values()].sort() };
}

const RULE_WORDS: Record<AgentRule, string> = {
  author: "opened by",
  pusher: "pushed by",
  commit_author: "authored by",
  committer: "committed by",
  co_author_trailer: "co-authored (Co-authored-by trailer) by",
  unlisted_commits:
    "held for approval: GitHub lists only its first 250 commits, so these could not be checked for an agent's work:",
};

/** One sentence per finding, e.g. "Commit abc1234 is co-authored (Co-authored-by trailer) by noreply@anthropic.com (Claude Code)." */
export function describeFinding(finding: AgentFinding): string {
  const who = `${finding.identity} (${finding.entry})`;
  if (finding.commit) return `Commit ${finding.commit.slice(0, 7)} is ${RULE_WORDS[finding.rule]} ${who}.`;
  return `The pull request is ${RULE_WORDS[finding.rule]} ${who}.`;
}
