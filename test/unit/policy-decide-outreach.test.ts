import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type GateConfig, type Permission } from "../../src/policy/config.ts";
import { decideOutreachReviews, type OutreachReviewFacts, type ReviewFact } from "../../src/policy/decision.ts";

const HEAD = "b".repeat(40);
const OLD = "a".repeat(40);
const config: GateConfig = { ...DEFAULT_CONFIG, agents: ["seo-agent"] };
const twoOfN: GateConfig = { ...config, approvals: { required: 2, minPermission: "write" } };

let minute = 0;
function review(
  login: string,
  state: ReviewFact["state"],
  o: { permission?: Permission; type?: string; commit?: string } = {},
): ReviewFact {
  minute += 1;
  return {
    reviewer: { login, type: o.type ?? "User", permission: o.permission ?? "write" },
    state,
    commitId: o.commit ?? HEAD,
    submittedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
  };
}

function facts(reviews: ReviewFact[], extra: Partial<OutreachReviewFacts> = {}): OutreachReviewFacts {
  return { author: "token:agt_abcd1234", triggeredBy: null, headSha: HEAD, reviews, ...extra };
}

describe("decideOutreachReviews", () => {
  it.each<[string, OutreachReviewFacts, GateConfig, string, string[], RegExp | null]>([
    ["no reviews", facts([]), config, "pending", [], null],
    ["an eligible approval of the head", facts([review("alice", "APPROVED")]), config, "approved", ["alice"], null],
    [
      "an approval of an older head",
      facts([review("alice", "APPROVED", { commit: OLD })]),
      config,
      "pending",
      [],
      /older commit/,
    ],
    [
      "the user who triggered the run",
      facts([review("carol", "APPROVED")], { triggeredBy: "carol" }),
      config,
      "pending",
      [],
      /triggered the run/,
    ],
    [
      "a configured agent",
      facts([review("seo-agent", "APPROVED", { permission: "admin" })]),
      config,
      "pending",
      [],
      /configured agent/,
    ],
    [
      "a bot",
      facts([review("ci[bot]", "APPROVED", { type: "Bot", permission: "admin" })]),
      config,
      "pending",
      [],
      /bot/,
    ],
    [
      "a triage user",
      facts([review("tom", "APPROVED", { permission: "triage" })]),
      config,
      "pending",
      [],
      /triage permission/,
    ],
    ["one of two required", facts([review("alice", "APPROVED")]), twoOfN, "pending", ["alice"], null],
    [
      "two of two required",
      facts([review("alice", "APPROVED"), review("bob", "APPROVED", { permission: "admin" })]),
      twoOfN,
      "approved",
      ["alice", "bob"],
      null,
    ],
    [
      "an eligible change request beside an approval",
      facts([review("alice", "APPROVED"), review("bob", "CHANGES_REQUESTED")]),
      config,
      "rejected",
      ["alice"],
      null,
    ],
    [
      "a change request by a read-only user",
      facts([review("rita", "CHANGES_REQUESTED", { permission: "read" })]),
      config,
      "pending",
      [],
      /read permission/,
    ],
    ["undecided at expiry", facts([], { expired: true }), config, "rejected", [], null],
  ])("%s", (_name, input, cfg, status, approvers, refusal) => {
    const decision = decideOutreachReviews(input, cfg, true);
    expect(decision.status).toBe(status);
    expect(decision.approvers).toEqual(approvers);
    if (refusal) expect(decision.refused.map((r) => r.reason).join("\n")).toMatch(refusal);
    else expect(decision.refused).toEqual([]);
  });

  it("words a rejection as a rejection of the outreach", () => {
    const decision = decideOutreachReviews(facts([review("bob", "CHANGES_REQUESTED")]), config, true);
    expect(decision.title).toBe("Changes requested by bob");
    expect(decision.reasons[0]).toMatch(/rejects the outreach/);
  });
});
