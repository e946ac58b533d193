import { describe, expect, it } from "vitest";
import { pullsNamedBy, queuedPullOf } from "../../src/github/merge-group-pulls.ts";

const A = "a".repeat(40);

describe("GitHub's names for a merge group's pull requests", () => {
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
});
