import { describe, expect, it } from "vitest";
import { decideMergeGroup } from "../../src/policy/merge-group.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("merge groups", () => {
  it.each<[string, Parameters<typeof decideMergeGroup>, string, string]>([
    [
      "every pull request approved",
      [
        [
          { number: 1, headSha: A, status: "approved", decidedBase: "main" },
          { number: 2, headSha: B, status: "exempt" },
        ],
        null,
        "main",
      ],
      "success",
      "All 2 pull requests approved",
    ],
    [
      "one of two pending",
      [
        [
          { number: 1, headSha: A, status: "pending" },
          { number: 2, headSha: B, status: "approved", decidedBase: "main" },
        ],
        null,
        "main",
      ],
      "failure",
      "Pull request #1 is not approved at aaaaaaa",
    ],
    [
      "no decision recorded",
      [[{ number: 2, headSha: B, status: null }], null, "main"],
      "failure",
      "Pull request #2 is not approved at bbbbbbb",
    ],
    ["none found", [[], null, "main"], "failure", "No pull request found for this merge group"],
    [
      "the group cannot be read",
      [[{ number: 2, headSha: B, status: "approved", decidedBase: "main" }], "too many commits", "main"],
      "failure",
      "The merge group's pull requests cannot be checked",
    ],
    [
      "approved for another base",
      [[{ number: 2, headSha: B, status: "approved", decidedBase: "dev" }], null, "main"],
      "failure",
      "Pull request #2 was approved for another base",
    ],
    [
      "approved with no base recorded",
      [[{ number: 2, headSha: B, status: "approved" }], null, "main"],
      "failure",
      "Pull request #2 was approved for another base",
    ],
    [
      "the group's base given as a full ref",
      [[{ number: 2, headSha: B, status: "approved", decidedBase: "main" }], null, "refs/heads/main"],
      "success",
      "Pull request #2 approved",
    ],
  ])("decideMergeGroup: %s", (_name, args, conclusion, title) => {
    expect(decideMergeGroup(...args)).toMatchObject({ conclusion, title });
  });
});
