import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type GateConfig, type Permission } from "../../src/policy/config.ts";
import { decideCommit, factsDigest, type CommitFacts, type ReviewFact } from "../../src/policy/decision.ts";

const HEAD = "b".repeat(40);
const OLD = "a".repeat(40);
const AGENT = "seo-agent[bot]";

const config: GateConfig = { ...DEFAULT_CONFIG, agents: ["seo-agent"] };
const twoOfN: GateConfig = { ...config, approvals: { required: 2, minPermission: "write" } };

let minute = 0;
function review(
  login: string,
  state: ReviewFact["state"],
  options: { permission?: Permission; type?: string; commit?: string | null } = {},
): ReviewFact {
  minute += 1;
  return {
    reviewer: { login, type: options.type ?? "User", permission: options.permission ?? "write" },
    state,
    commitId: options.commit === undefined ? HEAD : options.commit,
    submittedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
  };
}

function facts(reviews: ReviewFact[], author = AGENT, authorType = "Bot"): CommitFacts {
  return { author, authorType, headSha: HEAD, reviews };
}

describe("decideCommit", () => {
  it.each<[string, CommitFacts, GateConfig, string, string, string[], { login: string; reason: RegExp }[]]>([
    ["agent PR with no reviews", facts([]), config, "pending", "Waiting for approval (0/1)", [], []],
    [
      "approval by the author",
      facts([review(AGENT, "APPROVED", { type: "Bot", permission: "admin" })]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: AGENT, reason: /^the author cannot approve their own proposal$/ }],
    ],
    [
      "approval by another configured agent",
      facts([review("seo-agent", "APPROVED", { permission: "admin" })], "other-agent", "User"),
      { ...config, agents: ["seo-agent", "other-agent"] },
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: "seo-agent", reason: /^a configured agent cannot approve$/ }],
    ],
    [
      "approval by a bot",
      facts([review("renovate[bot]", "APPROVED", { type: "Bot", permission: "admin" })]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: "renovate[bot]", reason: /^a bot cannot approve$/ }],
    ],
    [
      "approval by a read-only user",
      facts([review("reader", "APPROVED", { permission: "read" })]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: "reader", reason: /^read permission .* needs write or higher/ }],
    ],
    [
      "approval of an older commit",
      facts([review("alice", "APPROVED", { commit: OLD })]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: "alice", reason: /approved an older commit \(aaaaaaa\), not the current head \(bbbbbbb\)/ }],
    ],
    [
      "approval without a commit",
      facts([review("alice", "APPROVED", { commit: null })]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [{ login: "alice", reason: /approved an older commit \(no commit\)/ }],
    ],
    [
      "eligible approval on the head",
      facts([review("alice", "APPROVED")]),
      config,
      "approved",
      "Approved by alice",
      ["alice"],
      [],
    ],
    [
      "changes requested",
      facts([review("bob", "CHANGES_REQUESTED")]),
      config,
      "rejected",
      "Changes requested by bob",
      [],
      [],
    ],
    [
      "changes requested on an older commit still block",
      facts([review("alice", "APPROVED"), review("bob", "CHANGES_REQUESTED", { commit: OLD })]),
      config,
      "rejected",
      "Changes requested by bob",
      ["alice"],
      [],
    ],
    [
      "changes requested by an ineligible user change nothing",
      facts([review("reader", "CHANGES_REQUESTED", { permission: "read" }), review("alice", "APPROVED")]),
      config,
      "approved",
      "Approved by alice",
      ["alice"],
      [{ login: "reader", reason: /^read permission/ }],
    ],
    [
      "a dismissed approval re-opens the question",
      facts([review("alice", "APPROVED"), review("alice", "DISMISSED")]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [],
    ],
    [
      "a dismissed change request re-opens the question",
      facts([review("bob", "CHANGES_REQUESTED"), review("bob", "DISMISSED")]),
      config,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [],
    ],
    [
      "approval after changes requested by the same reviewer",
      facts([review("bob", "CHANGES_REQUESTED"), review("bob", "APPROVED")]),
      config,
      "approved",
      "Approved by bob",
      ["bob"],
      [],
    ],
    [
      "a comment after an approval keeps the approval",
      facts([review("alice", "APPROVED"), review("alice", "COMMENTED")]),
      config,
      "approved",
      "Approved by alice",
      ["alice"],
      [],
    ],
    [
      "2 of N: one person approving twice counts once",
      facts([review("alice", "APPROVED"), review("Alice", "APPROVED")]),
      twoOfN,
      "pending",
      "Waiting for approval (1/2)",
      ["Alice"],
      [],
    ],
    [
      "2 of N: two people approve",
      facts([review("carol", "APPROVED"), review("alice", "APPROVED"), review("alice", "APPROVED")]),
      twoOfN,
      "approved",
      "Approved by alice and carol",
      ["alice", "carol"],
      [],
    ],
    [
      "2 of N: a stale and a current approval",
      facts([review("carol", "APPROVED", { commit: OLD }), review("alice", "APPROVED")]),
      twoOfN,
      "pending",
      "Waiting for approval (1/2)",
      ["alice"],
      [{ login: "carol", reason: /older commit/ }],
    ],
    [
      "without a config file, a bot's PR is gated",
      facts([], "ci-app[bot]", "Bot"),
      DEFAULT_CONFIG,
      "pending",
      "Waiting for approval (0/1)",
      [],
      [],
    ],
  ])("%s", (_name, input, settings, status, title, approvers, refused) => {
    const decision = decideCommit(input, settings, settings !== DEFAULT_CONFIG);
    expect(decision.agentProposed).toBe(true);
    expect(decision.status).toBe(status);
    expect(decision.title).toBe(title);
    expect(decision.approvers).toEqual(approvers);
    expect(decision.required).toBe(settings.approvals.required);
    expect(decision.refused).toHaveLength(refused.length);
    refused.forEach((expected, index) => {
      expect(decision.refused[index]!.login).toBe(expected.login);
      expect(decision.refused[index]!.reason).toMatch(expected.reason);
      expect(decision.reasons.some((reason) => reason.includes(expected.login))).toBe(true);
    });
    expect(decision.reasons.length).toBeGreaterThan(0);
  });

  it.each<[string, string, string, GateConfig, boolean]>([
    ["a human PR", "alice", "User", config, true],
    ["a bot that is not a configured agent", "dependabot[bot]", "Bot", config, true],
  ])("%s is not agent-proposed and passes", (_name, author, authorType, settings, present) => {
    const decision = decideCommit(facts([review("bob", "CHANGES_REQUESTED")], author, authorType), settings, present);
    expect(decision).toMatchObject({
      status: "approved",
      agentProposed: false,
      title: "Not agent-proposed",
      approvers: [],
    });
    expect(decision.reasons[0]).toMatch(/is not an agent/);
  });

  it("the rejection reason names the reviewer; the dismissal is explained", () => {
    const decision = decideCommit(
      facts([review("bob", "CHANGES_REQUESTED"), review("alice", "APPROVED"), review("alice", "DISMISSED")]),
      config,
      true,
    );
    expect(decision.rejectedBy).toEqual(["bob"]);
    expect(decision.reasons).toContain(
      "bob requested changes; a change request by an eligible reviewer blocks the merge.",
    );
    expect(decision.reasons).toContain("alice's review was dismissed, so it no longer counts.");
  });

  it("order of the review list does not matter, only submission time", () => {
    const approved = review("alice", "APPROVED");
    const dismissed = review("alice", "DISMISSED");
    expect(decideCommit(facts([dismissed, approved]), config, true).status).toBe("pending");
  });
});

describe("factsDigest", () => {
  it("is the same for the same facts in any key order, and differs when a fact changes", () => {
    const a = { headSha: HEAD, author: AGENT, reviews: [] };
    const b = { author: AGENT, reviews: [], headSha: HEAD };
    expect(factsDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(factsDigest(a)).toBe(factsDigest(b));
    expect(factsDigest({ ...a, headSha: OLD })).not.toBe(factsDigest(a));
  });
});
