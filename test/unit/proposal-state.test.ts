import { describe, expect, it } from "vitest";
import { parseState, ProposalStateError } from "../../src/proposals/state.ts";

const vote = {
  actor: { login: "alice", type: "User", permission: "write" },
  vote: "approve",
  at: "2026-11-30T10:00:00.000Z",
  via: "check_run",
};

describe("proposal state schemas", () => {
  it("read each kind's state as written, keeping keys they do not name", () => {
    expect(parseState("prp_1", "deploy", {})).toEqual({});
    const deploy = {
      votes: [vote],
      required: 1,
      min_permission: "write",
      decision: { title: "Waiting for approval (0/1)", approvers: [], refused: [], reasons: [] },
      config_errors: [],
      config_digest: null,
    };
    expect(parseState("prp_1", "deploy", deploy)).toEqual(deploy);
    const outreach = {
      mode: "pull_request",
      branch: "agent-gate/outreach/prp_2",
      path: "outreach/prp_2.md",
      file_sha: null,
      redacted: false,
      config_error: "no keyring",
      pushed: { head: "b".repeat(40), login: "agent" },
      later_key: 1,
    };
    expect(parseState("prp_2", "outreach", outreach)).toEqual(outreach);
    const commit = {
      decision: {
        status: "approved",
        required: 1,
        approvers: ["bob"],
        rejectedBy: [],
        refused: [{ login: "x", reason: "a bot" }],
        reasons: [],
        title: "Approved by bob",
        agentProposed: true,
        recognition: [{ rule: "author" }],
      },
      facts: { headSha: "a".repeat(40), reviews: [], author: "agent" },
      facts_digest: "f".repeat(64),
      config: { agents: [] },
      config_digest: "c".repeat(64),
      config_present: true,
      config_errors: [],
      required: 1,
      min_permission: "write",
    };
    expect(parseState("prp_3", "commit", commit)).toEqual(commit);
  });

  it.each([
    ["deploy", { votes: "alice" }, /votes: /],
    ["deploy", { votes: [{ ...vote, vote: "maybe" }] }, /votes\.0\.vote: /],
    [
      "deploy",
      { votes: [{ ...vote, actor: { login: "alice", type: "User", permission: "owner" } }] },
      /votes\.0\.actor\.permission: /,
    ],
    ["commit", { decision: { status: "merged" } }, /decision\.status: /],
    ["commit", { decision: { approvers: "bob" } }, /decision\.approvers: /],
    ["commit", { facts: { reviews: [] } }, /facts: expected the gathered facts/],
    ["outreach", { mode: "email" }, /mode: /],
    ["outreach", { file_sha: 12 }, /file_sha: /],
    ["outreach", { pushed: { head: "b".repeat(40) } }, /pushed\.login: /],
    ["deploy", null, /state: /],
    ["deploy", [], /state: /],
  ] as const)("refuses a %s state %j, naming the field", (kind, state, field) => {
    expect(() => parseState("prp_9", kind, state)).toThrow(ProposalStateError);
    expect(() => parseState("prp_9", kind, state)).toThrow(field);
  });

  it("refuses a row of an unknown kind", () => {
    expect(() => parseState("prp_9", "email" as "deploy", {})).toThrow(/unknown kind "email"/);
  });

  it("says the proposal is neither decided nor approved, with a stable code", () => {
    try {
      parseState("prp_9", "deploy", { required: -1 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ProposalStateError);
      expect((error as ProposalStateError).code).toBe("proposal_state_unreadable");
      expect((error as Error).message).toMatch(
        /^Proposal prp_9 has an unreadable deploy state \(required: .*\); it is neither decided nor approved/,
      );
    }
  });
});
