import { describe, expect, it } from "vitest";
import { decideMergeGroup, pullsNamedBy, queuedPullOf } from "../../src/policy/merge-group.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("merge groups", () => {
  it.each<[string, string, ReturnType<typeof queuedPullOf>]>([
    [
      "GitHub's example ref",
      "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64",
      { base: "main", number: 104, headSha: "929f8209d40f77f4abc622a499c93a83babdbe64" },
    ],
    ["a base with slashes", `gh-readonly-queue/release/1.x/pr-7-${A}`, { base: "release/1.x", number: 7, headSha: A }],
    ["another branch", `refs/heads/feature/pr-7-${A}`, null],
    ["a short sha", "refs/heads/gh-readonly-queue/main/pr-7-abc", null],
  ])("queuedPullOf: %s", (_name, ref, expected) => {
    expect(queuedPullOf(ref)).toEqual(expected);
  });

  it.each<[string, string, number[]]>([
    ["GitHub's merge commit", "Merge pull request #2048 from octo-repo/update-readme\n\nUpdate README.md", [2048]],
    ["GitHub's squash commit", "Update the README (#12)\n\n* first\n* second", [12]],
    ["a squashed revert names the last number", 'Revert "Add x (#3)" (#15)', [15]],
    ["a number in the body only", "Update the README\n\nSee #12", []],
    ["no number", "Fix a typo", []],
  ])("pullsNamedBy: %s", (_name, message, numbers) => {
    expect(pullsNamedBy(message)).toEqual(numbers);
  });

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
