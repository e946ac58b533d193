import { describe, expect, it } from "vitest";
import {
  recognizeAgent,
  type AgentFacts,
  type GitIdentity,
  type PullCommitFact,
} from "../../src/policy/agent-recognition.ts";
import { coAuthorsOf, loginOfNoreply } from "../../src/policy/co-authors.ts";
import { DEFAULT_CONFIG, parseConfig, type GateConfig } from "../../src/policy/config.ts";
import { decideCommit, decideOutreachReviews, decideVotes, type ReviewFact } from "../../src/policy/decision.ts";
import { KNOWN_AGENTS } from "../../src/policy/known-agents.ts";
import { renderExplanation } from "../../src/explain/render.ts";
import { explainCommit } from "../../src/explain/replay.ts";

const HUMAN: GitIdentity = { login: "human-dev", type: "User", name: "Human Dev", email: "human@example.com" };
const WEB_FLOW: GitIdentity = { login: "web-flow", type: "User", name: "GitHub", email: "noreply@github.com" };

function config(agents: string[], approvals: Record<string, unknown> = {}): GateConfig {
  const parsed = parseConfig({ agents, approvals }, true);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

function commit(o: Partial<PullCommitFact> = {}): PullCommitFact {
  return { sha: "c".repeat(40), author: HUMAN, committer: WEB_FLOW, message: "Change things", ...o };
}

function facts(o: Partial<AgentFacts> = {}): AgentFacts {
  return { author: "human-dev", authorType: "User", pusher: null, commits: [commit()], ...o };
}

const configured = config(["known", "seo-agent"]);

describe("recognizeAgent: which rule finds the agent", () => {
  it.each<[string, AgentFacts, GateConfig, boolean, { rule: string; entry: string } | null]>([
    ["a person's own pull request", facts(), configured, true, null],
    [
      "the author is a configured agent",
      facts({ author: "seo-agent" }),
      configured,
      true,
      { rule: "author", entry: "configured agent" },
    ],
    [
      "the author is a configured agent with the [bot] suffix",
      facts({ author: "Seo-Agent[bot]", authorType: "Bot" }),
      configured,
      true,
      { rule: "author", entry: "configured agent" },
    ],
    [
      "the author is GitHub's coding agent",
      facts({ author: "Copilot", authorType: "Bot" }),
      configured,
      true,
      { rule: "author", entry: "GitHub Copilot coding agent" },
    ],
    [
      "the author is copilot-swe-agent[bot]",
      facts({ author: "copilot-swe-agent[bot]", authorType: "Bot" }),
      configured,
      true,
      { rule: "author", entry: "GitHub Copilot coding agent" },
    ],
    [
      "the pusher is a configured agent",
      facts({ pusher: { login: "seo-agent", type: "User" } }),
      configured,
      true,
      { rule: "pusher", entry: "configured agent" },
    ],
    [
      "a commit authored by an agent",
      facts({ commits: [commit({ author: { ...HUMAN, login: "seo-agent" } })] }),
      configured,
      true,
      { rule: "commit_author", entry: "configured agent" },
    ],
    [
      "a commit committed by an agent",
      facts({ commits: [commit({ committer: { ...WEB_FLOW, login: "google-labs-jules[bot]", type: "Bot" } })] }),
      configured,
      true,
      { rule: "committer", entry: "Google Jules" },
    ],
    [
      "a commit whose author email is a known agent's",
      facts({
        commits: [commit({ author: { login: null, type: null, name: "Claude", email: "noreply@anthropic.com" } })],
      }),
      configured,
      true,
      { rule: "commit_author", entry: "Claude Code" },
    ],
    [
      "a bot account without a config file",
      facts({ author: "helper[bot]", authorType: "Bot" }),
      DEFAULT_CONFIG,
      false,
      { rule: "author", entry: "bot account" },
    ],
    [
      "a bot account with a config file that does not list it",
      facts({ author: "helper[bot]", authorType: "Bot" }),
      configured,
      true,
      null,
    ],
    [
      "a known agent when the config lists only its own agents",
      facts({ author: "Copilot", authorType: "Bot" }),
      config(["seo-agent"]),
      true,
      null,
    ],
    [
      "a known agent excluded by its id",
      facts({ author: "Copilot", authorType: "Bot" }),
      config(["known", "!copilot"]),
      true,
      null,
    ],
    [
      "a known agent excluded by its login",
      facts({ author: "Copilot", authorType: "Bot" }),
      config(["known", "!copilot-swe-agent[bot]"]),
      true,
      null,
    ],
    // GitHub lists at most 250 commits of a pull request: what lies past them cannot be checked, so the gate stays closed.
    [
      "a person's pull request of 300 commits, 250 listed",
      facts({ commits: Array.from({ length: 250 }, () => commit()), commitCount: 300 }),
      configured,
      true,
      { rule: "unlisted_commits", entry: "not listed by GitHub" },
    ],
    [
      "a person's pull request of 250 commits, all listed",
      facts({ commits: Array.from({ length: 250 }, () => commit()), commitCount: 250 }),
      configured,
      true,
      null,
    ],
  ])("%s", (_name, input, gate, present, expected) => {
    const result = recognizeAgent(input, gate, present);
    expect(result.agentProposed).toBe(expected !== null);
    if (expected) expect(result.findings[0]).toMatchObject(expected);
  });
});

describe("recognizeAgent: Co-authored-by trailers as real tools write them", () => {
  it.each<[string, string, string | null]>([
    ["Claude Code's spelling", "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>", "Claude Code"],
    ["a model name in the trailer", "Fix\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>", "Claude Code"],
    ["git's spelling", "Fix\n\nCo-authored-by: Codex <noreply@openai.com>", "OpenAI Codex"],
    ["lower case", "Fix\n\nco-authored-by: Cursor Agent <cursoragent@cursor.com>", "Cursor agent"],
    ["upper case and an upper-case email", "Fix\n\nCO-AUTHORED-BY: Claude <NoReply@Anthropic.com>", "Claude Code"],
    ["without angle brackets", "Fix\n\nCo-authored-by: Claude noreply@anthropic.com", "Claude Code"],
    [
      "a noreply email with an id",
      "Fix\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>",
      "GitHub Copilot coding agent",
    ],
    [
      "a noreply email with another id",
      "Fix\n\nCo-authored-by: Copilot <198982749+Copilot@users.noreply.github.com>",
      "GitHub Copilot coding agent",
    ],
    [
      "a noreply email of a [bot] login",
      "Fix\n\nCo-authored-by: Jules <161369871+google-labs-jules[bot]@users.noreply.github.com>",
      "Google Jules",
    ],
    ["CRLF line ends", "Fix\r\n\r\nCo-Authored-By: Claude <noreply@anthropic.com>\r\n", "Claude Code"],
    ["a human co-author who is not an agent", "Fix\n\nCo-authored-by: Rita <4242+rita@users.noreply.github.com>", null],
    ["an agent's name with another address", "Fix\n\nCo-authored-by: Claude <claude@example.com>", null],
    ["the words in the body, not a trailer", "Fix the co-authored-by: parsing of noreply@anthropic.com", null],
    ["a trailer with no address", "Fix\n\nCo-Authored-By: Claude", null],
  ])("%s", (_name, message, entry) => {
    const result = recognizeAgent(facts({ commits: [commit({ message })] }), configured, true);
    expect(result.findings.map((f) => f.entry)).toEqual(entry ? [entry] : []);
    if (entry) expect(result.findings[0]).toMatchObject({ rule: "co_author_trailer", commit: "c".repeat(40) });
  });

  it("a trailer naming a configured agent's noreply address counts too", () => {
    const result = recognizeAgent(
      facts({ commits: [commit({ message: "x\n\nCo-authored-by: SEO <9+seo-agent@users.noreply.github.com>" })] }),
      configured,
      true,
    );
    expect(result.findings).toEqual([
      {
        rule: "co_author_trailer",
        identity: "9+seo-agent@users.noreply.github.com",
        entry: "configured agent",
        commit: "c".repeat(40),
      },
    ]);
  });

  it("reads trailers and noreply logins", () => {
    expect(
      coAuthorsOf("a\n\nCo-authored-by: A B <A@X.org>\nSigned-off-by: C <c@x.org>\nco-authored-by:  D <d@x.org>  "),
    ).toEqual([
      { name: "A B", email: "a@x.org" },
      { name: "D", email: "d@x.org" },
    ]);
    expect(loginOfNoreply("123+name@users.noreply.github.com")).toBe("name");
    expect(loginOfNoreply("name@users.noreply.github.com")).toBe("name");
    expect(loginOfNoreply("name@example.com")).toBeNull();
  });
});

describe("separation of duties: who directed the agent", () => {
  const coAuthored = commit({
    message:
      "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nCo-authored-by: Rita <4242+rita@users.noreply.github.com>",
  });

  it("the human author and human co-authors of an agent's commit directed it; GitHub's web-flow did not", () => {
    expect(recognizeAgent(facts({ author: "other", commits: [coAuthored] }), configured, true).directors).toEqual([
      "human-dev",
      "rita",
    ]);
  });

  it("the assignees and requested reviewers of GitHub's coding agent directed it", () => {
    const result = recognizeAgent(
      facts({
        author: "Copilot",
        authorType: "Bot",
        assignees: ["Copilot", "maintainer"],
        requestedReviewers: ["lead"],
      }),
      configured,
      true,
    );
    expect(result.directors).toEqual(["lead", "maintainer"]);
  });

  it("assignees of a configured agent's pull request did not direct it by assignment", () => {
    expect(
      recognizeAgent(facts({ author: "seo-agent", assignees: ["maintainer"] }), configured, true).directors,
    ).toEqual([]);
  });

  const review = (login: string): ReviewFact => ({
    reviewer: { login, type: "User", permission: "write" },
    state: "APPROVED",
    commitId: "h".repeat(40),
    submittedAt: "2026-11-23T10:00:00Z",
  });

  it("a director's approval is refused by default and counts with approvals.allow_directing_human: true", () => {
    const input = {
      ...facts({ author: "Copilot", authorType: "Bot", assignees: ["maintainer"] }),
      headSha: "h".repeat(40),
      reviews: [review("maintainer")],
    };
    const refused = decideCommit(input, configured, true);
    expect(refused.status).toBe("pending");
    expect(refused.refused).toEqual([
      { login: "maintainer", reason: expect.stringMatching(/directed the agent's work/) },
    ]);
    expect(decideCommit(input, config(["known", "seo-agent"], { allow_directing_human: true }), true).status).toBe(
      "approved",
    );
  });

  it("the decision records the finding and a sentence naming the commit", () => {
    const input = { ...facts({ commits: [coAuthored] }), headSha: "h".repeat(40), reviews: [] };
    const decision = decideCommit(input, configured, true);
    expect(decision.recognition).toEqual([
      { rule: "co_author_trailer", identity: "noreply@anthropic.com", entry: "Claude Code", commit: "c".repeat(40) },
    ]);
    expect(decision.reasons).toContain(
      "Commit ccccccc is co-authored (Co-authored-by trailer) by noreply@anthropic.com (Claude Code).",
    );
  });
});

describe("the deadline in every tally", () => {
  const at = (iso: string, login = "maintainer") => ({
    actor: { login, type: "User", permission: "write" as const },
    vote: "approve" as const,
    at: iso,
  });
  const context = {
    author: "deploy-agent",
    config: DEFAULT_CONFIG,
    configPresent: true,
    deadline: "2026-11-23T11:00:00.000Z",
  };

  it.each([
    ["before the deadline", "2026-11-23T10:59:59.000Z", false, "approved"],
    ["at the deadline", "2026-11-23T11:00:00.000Z", false, "approved"],
    ["after the deadline, tallied before the sweep", "2026-11-23T11:00:01.000Z", true, "rejected"],
    ["with an unreadable time", "not a time", true, "rejected"],
  ])("a vote %s", (_name, when, expired, status) => {
    const decision = decideVotes([at(when)], { ...context, expired });
    expect(decision.status).toBe(status);
    if (status === "rejected") {
      expect(decision).toMatchObject({ expired: true, approvers: [], title: "Expired without approval (0/1)" });
      expect(decision.refused[0]?.reason).toMatch(/after the proposal expired/);
    }
  });

  it("a late vote does not displace the same person's vote in time", () => {
    const reject = { ...at("2026-11-23T10:30:00.000Z"), vote: "reject" as const };
    expect(decideVotes([reject, at("2026-11-23T12:00:00.000Z")], { ...context, expired: true }).status).toBe(
      "rejected",
    );
    expect(decideVotes([reject, at("2026-11-23T12:00:00.000Z")], { ...context, expired: true }).rejectedBy).toEqual([
      "maintainer",
    ]);
  });
});

describe("the known agents list", () => {
  it("names for every entry an id, at least one identity and the public pages that show it", () => {
    const ids = new Set<string>();
    for (const agent of KNOWN_AGENTS) {
      expect(agent.id).toMatch(/^[a-z0-9-]+$/);
      expect(ids.has(agent.id)).toBe(false);
      ids.add(agent.id);
      expect(agent.logins.length + agent.emails.length).toBeGreaterThan(0);
      expect(agent.sources.length).toBeGreaterThan(0);
      for (const source of agent.sources) expect(source).toMatch(/^https:\/\/github\.com\//);
      for (const email of agent.emails) expect(email).toBe(email.toLowerCase());
    }
  });
});

describe("explain replays the rule that recognised the agent", () => {
  it("records the finding in the decision, and the replay gives it again with the rule named", () => {
    const recordedFacts = {
      ...facts({ commits: [commit({ message: "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>" })] }),
      headSha: "h".repeat(40),
      reviews: [],
      deadline: "2026-11-26T10:00:00.000Z",
      expired: false,
    };
    const decision = decideCommit(recordedFacts, configured, true);
    const row = {
      id: "prp_test",
      repo: "acme/web",
      pr_number: 7,
      head_sha: "h".repeat(40),
      status: "pending",
      decided_at: null,
      state: { decision, facts: recordedFacts, config: configured, config_present: true },
    };
    const explained = explainCommit(row);
    expect(explained.matches).toBe(true);
    expect(explained.replayed?.recognition).toEqual([
      { rule: "co_author_trailer", identity: "noreply@anthropic.com", entry: "Claude Code", commit: "c".repeat(40) },
    ]);
    expect(renderExplanation(explained)).toContain(
      "Agent-proposed by rule co_author_trailer: Commit ccccccc is co-authored (Co-authored-by trailer) by noreply@anthropic.com (Claude Code).",
    );
  });
});

describe("the deadline for outreach reviews", () => {
  it("an approving review submitted after the deadline never approves an outreach proposal", () => {
    const reviews: ReviewFact[] = [
      {
        reviewer: { login: "maintainer", type: "User", permission: "write" },
        state: "APPROVED",
        commitId: "h".repeat(40),
        submittedAt: "2026-11-23T12:00:00Z",
      },
    ];
    const base = {
      author: "deploy-agent",
      triggeredBy: null,
      headSha: "h".repeat(40),
      reviews,
      deadline: "2026-11-23T11:00:00.000Z",
    };
    expect(decideOutreachReviews({ ...base, expired: true }, DEFAULT_CONFIG, true)).toMatchObject({
      status: "rejected",
      expired: true,
      approvers: [],
    });
    expect(decideOutreachReviews({ ...base, deadline: "2026-11-23T13:00:00.000Z" }, DEFAULT_CONFIG, true).status).toBe(
      "approved",
    );
  });
});
