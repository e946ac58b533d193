import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type GateConfig, type Permission } from "../../src/policy/config.ts";
import { decideVotes, type Vote } from "../../src/policy/decision.ts";

const config: GateConfig = { ...DEFAULT_CONFIG, agents: ["deploy-agent"] };
const twoOfN: GateConfig = { ...config, approvals: { required: 2, minPermission: "write" } };

function vote(
  login: string,
  choice: Vote["vote"],
  minute: number,
  permission: Permission = "write",
  type = "User",
): Vote {
  return {
    actor: { login, type, permission },
    vote: choice,
    at: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
  };
}

const base = { author: "deploy-agent", triggeredBy: "octo-dev", config, configPresent: true };

describe("decideVotes", () => {
  it.each<[string, Vote[], Partial<typeof base> & { expired?: boolean }, string, string, string[], string[], string[]]>(
    [
      ["no votes", [], {}, "pending", "Waiting for approval (0/1)", [], [], []],
      ["one eligible approval", [vote("alice", "approve", 1)], {}, "approved", "Approved by alice", ["alice"], [], []],
      ["one eligible rejection", [vote("bob", "reject", 1)], {}, "rejected", "Rejected by bob", [], ["bob"], []],
      [
        "a rejection wins over an approval that reached the quorum",
        [vote("alice", "approve", 1), vote("bob", "reject", 2)],
        {},
        "rejected",
        "Rejected by bob",
        ["alice"],
        ["bob"],
        [],
      ],
      [
        "a rejection wins whatever the order",
        [vote("bob", "reject", 1), vote("alice", "approve", 2)],
        {},
        "rejected",
        "Rejected by bob",
        ["alice"],
        ["bob"],
        [],
      ],
      [
        "a later approval replaces the same person's rejection",
        [vote("bob", "reject", 1), vote("bob", "approve", 2)],
        {},
        "approved",
        "Approved by bob",
        ["bob"],
        [],
        [],
      ],
      [
        "a later rejection replaces the same person's approval",
        [vote("bob", "approve", 1), vote("bob", "reject", 2)],
        {},
        "rejected",
        "Rejected by bob",
        [],
        ["bob"],
        [],
      ],
      [
        "the latest vote counts even when listed first",
        [vote("bob", "reject", 5), vote("bob", "approve", 2)],
        {},
        "rejected",
        "Rejected by bob",
        [],
        ["bob"],
        [],
      ],
      [
        "two clicks by one person count once towards 2",
        [vote("alice", "approve", 1), vote("alice", "approve", 2)],
        { config: twoOfN },
        "pending",
        "Waiting for approval (1/2)",
        ["alice"],
        [],
        [],
      ],
      [
        "two people reach 2",
        [vote("alice", "approve", 1), vote("carol", "approve", 2)],
        { config: twoOfN },
        "approved",
        "Approved by alice and carol",
        ["alice", "carol"],
        [],
        [],
      ],
      [
        "ineligible votes are refused and change nothing",
        [
          vote("deploy-agent", "approve", 1, "admin"),
          vote("octo-dev", "approve", 2, "admin"),
          vote("reader", "reject", 3, "read"),
          vote("helper[bot]", "reject", 4, "admin", "Bot"),
        ],
        {},
        "pending",
        "Waiting for approval (0/1)",
        [],
        [],
        ["deploy-agent", "helper[bot]", "octo-dev", "reader"],
      ],
      [
        "expired and undecided is rejected",
        [vote("alice", "approve", 1)],
        { config: twoOfN, expired: true },
        "rejected",
        "Expired without approval (1/2)",
        ["alice"],
        [],
        [],
      ],
      [
        "expired but already approved stays approved",
        [vote("alice", "approve", 1)],
        { expired: true },
        "approved",
        "Approved by alice",
        ["alice"],
        [],
        [],
      ],
      [
        "expired and rejected names the rejecter",
        [vote("bob", "reject", 1)],
        { expired: true },
        "rejected",
        "Rejected by bob",
        [],
        ["bob"],
        [],
      ],
    ],
  )("%s", (_name, votes, overrides, status, title, approvers, rejectedBy, refused) => {
    const context = { ...base, ...overrides };
    const decision = decideVotes(votes, context);
    expect(decision.status).toBe(status);
    expect(decision.title).toBe(title);
    expect(decision.approvers).toEqual(approvers);
    expect(decision.rejectedBy).toEqual(rejectedBy);
    expect(decision.refused.map((refusal) => refusal.login)).toEqual(refused);
    expect(decision.required).toBe(context.config.approvals.required);
  });

  it("each refusal carries its own reason, repeated in the reasons", () => {
    const decision = decideVotes(
      [
        vote("deploy-agent", "approve", 1, "admin"),
        vote("octo-dev", "approve", 2, "admin"),
        vote("reader", "approve", 3, "triage"),
      ],
      base,
    );
    expect(decision.refused).toEqual([
      { login: "deploy-agent", reason: "the author cannot approve their own proposal" },
      { login: "octo-dev", reason: "the user who triggered the run cannot approve it" },
      {
        login: "reader",
        reason: "triage permission on the repository is not enough (approving needs write or higher)",
      },
    ]);
    expect(decision.reasons).toEqual([
      "Waiting for 1 approval from people with write permission or higher; none yet.",
      "deploy-agent does not count: the author cannot approve their own proposal.",
      "octo-dev does not count: the user who triggered the run cannot approve it.",
      "reader does not count: triage permission on the repository is not enough (approving needs write or higher).",
    ]);
  });

  it("an expiry is explained", () => {
    const decision = decideVotes([], { ...base, expired: true });
    expect(decision.reasons[0]).toBe(
      "The proposal expired before it was decided, with 0/1 approvals, so it is rejected.",
    );
  });
});
