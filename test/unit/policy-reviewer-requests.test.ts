import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type GateConfig } from "../../src/policy/config.ts";
import type { Decision } from "../../src/policy/tally.ts";
import type { RuleResult } from "../../src/policy/decide-rules.ts";
import { reviewersToRequest, type ReviewerRequestFacts } from "../../src/policy/reviewer-requests.ts";

const waiting: Decision = {
  status: "pending",
  required: 1,
  approvers: [],
  rejectedBy: [],
  refused: [],
  reasons: [],
  title: "Waiting for approval (0/1)",
};

function config(extra: Partial<GateConfig>): GateConfig {
  return { ...DEFAULT_CONFIG, agents: ["seo-agent"], ...extra };
}

function pendingRule(name: string, approvedBy: string[] = []): RuleResult {
  return { name, status: "pending", when: "always", needed: "", approvedBy, missing: "1 more approval" };
}

const facts = (over: Partial<ReviewerRequestFacts>): ReviewerRequestFacts => ({
  decision: waiting,
  config: config({ notify: { reviewers: ["alice", "@acme/release"], channels: [], routes: [], escalateTo: [] } }),
  owner: "acme",
  author: "seo-agent",
  ...over,
});

describe("reviewersToRequest", () => {
  it.each<[string, Partial<ReviewerRequestFacts>, { reviewers: string[]; teamReviewers: string[] }]>([
    ["notify.reviewers while waiting", {}, { reviewers: ["alice"], teamReviewers: ["release"] }],
    ["nobody once approved", { decision: { ...waiting, status: "approved" } }, { reviewers: [], teamReviewers: [] }],
    ["nobody once rejected", { decision: { ...waiting, status: "rejected" } }, { reviewers: [], teamReviewers: [] }],
    ["never the author", { author: "Alice" }, { reviewers: [], teamReviewers: ["release"] }],
    ["never the pusher", { pusher: "alice" }, { reviewers: [], teamReviewers: ["release"] }],
    ["never who triggered the run", { triggeredBy: "alice" }, { reviewers: [], teamReviewers: ["release"] }],
    ["never a director", { directors: ["alice"] }, { reviewers: [], teamReviewers: ["release"] }],
    [
      "a director when allow_directing_human",
      {
        directors: ["alice"],
        config: config({
          notify: { reviewers: ["alice"], channels: [], routes: [], escalateTo: [] },
          approvals: { required: 1, minPermission: "write", allowDirectingHuman: true },
        }),
      },
      { reviewers: ["alice"], teamReviewers: [] },
    ],
    [
      "never a configured agent",
      {
        config: config({ notify: { reviewers: ["seo-agent", "bob"], channels: [], routes: [], escalateTo: [] } }),
        author: "someone",
      },
      { reviewers: ["bob"], teamReviewers: [] },
    ],
    [
      "never a known agent",
      {
        config: config({
          knownAgents: true,
          notify: { reviewers: ["copilot", "bob"], channels: [], routes: [], escalateTo: [] },
        }),
      },
      { reviewers: ["bob"], teamReviewers: [] },
    ],
    [
      "never who already approved",
      { decision: { ...waiting, approvers: ["alice"] } },
      { reviewers: [], teamReviewers: ["release"] },
    ],
    ["never a team of another organization", { owner: "other" }, { reviewers: ["alice"], teamReviewers: [] }],
    [
      "the users and teams of an unmet rule, not of a satisfied one",
      {
        config: config({
          rules: [
            {
              name: "sec",
              if: {},
              require: { approvals: 1, users: ["sam"], teams: ["acme/security"], codeowners: false },
            },
            { name: "done", if: {}, require: { approvals: 1, users: ["zed"], codeowners: false } },
          ],
        }),
        decision: {
          ...waiting,
          rules: [
            pendingRule("approvals"),
            pendingRule("sec"),
            { ...pendingRule("done", ["zed"]), status: "satisfied", missing: null },
          ],
        },
      },
      { reviewers: ["sam"], teamReviewers: ["security"] },
    ],
    [
      "the owners of files still missing an owner's approval",
      {
        config: config({ rules: [{ name: "owners", if: {}, require: { approvals: 1, codeowners: true } }] }),
        decision: { ...waiting, rules: [pendingRule("owners", ["ann"])] },
        rules: {
          subject: { kind: "commit", baseBranch: "main", changedFiles: ["src/a.ts", "docs/b.md", "lib/c.ts"] },
          codeowners: {
            path: ".github/CODEOWNERS",
            text: "/src/ @ann @seo-agent\n/docs/ @acme/writers @seo-agent\n/lib/ @acme/core\n",
          },
          memberships: [{ team: "acme/core", login: "ann", member: true }],
        },
      },
      { reviewers: [], teamReviewers: ["writers"] },
    ],
  ])("%s", (_name, over, expected) => {
    const { reviewers, teamReviewers } = reviewersToRequest(facts(over));
    expect({ reviewers, teamReviewers }).toEqual(expected);
  });

  it("asks at most GitHub's 15, people first, and says who was left out", () => {
    const many = Array.from({ length: 14 }, (_, i) => `user${String(i).padStart(2, "0")}`);
    const result = reviewersToRequest(
      facts({
        config: config({
          notify: { reviewers: [...many, "@acme/a", "@acme/b"], channels: [], routes: [], escalateTo: [] },
        }),
      }),
    );
    expect(result.reviewers).toHaveLength(14);
    expect(result.teamReviewers).toEqual(["a"]);
    expect(result.leftOut).toEqual([{ who: "@acme/b", reason: "over GitHub's limit of 15 requested reviewers" }]);
  });
});
