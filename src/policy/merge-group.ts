/**
 * A merge queue's group, as the commit gate sees it. GitHub builds each
 * group on a branch named `gh-readonly-queue/<base>/pr-<number>-<head sha>`:
 * the base, the pull requests queued before it in the same group, and the
 * one the branch names, each at the head that entered the queue. The branch
 * names only the last; the others are found from the group's commits
 * (src/github/merge-group-pulls.ts). The group passes only when every one
 * of them was approved. Reading the branch's name and GitHub's commit
 * messages is the reader's job; this decides from what it found.
 */
export interface QueuedPull {
  number: number;
  headSha: string;
}

/** A pull request of a group, and how it was found: the queue's branch, a commit of the group, or a GitHub-made commit's message. */
export interface GroupPull extends QueuedPull {
  foundBy: "branch" | "commit" | "message";
}

/** What the gate recorded for a queued pull request at the head that entered the queue. */
export interface QueuedPullState extends QueuedPull {
  /** The stored commit proposal's status at that head; null: none recorded. */
  status: string | null;
  title?: string | null;
  /** The base branch the stored decision was made for (its facts, or the pull request's base when it was recorded). */
  decidedBase?: string | null;
}

export interface MergeGroupDecision {
  conclusion: "success" | "failure";
  title: string;
  summary: string;
}

/**
 * Success when every pull request of the group was approved (under its
 * rules) or exempt (not an agent's) at the head that entered the queue;
 * otherwise failure naming the first that was not. No pull request found, or
 * a group whose pull requests could not all be found (`problem`), is a
 * failure: nothing is approved by default.
 */
export function decideMergeGroup(
  pulls: readonly QueuedPullState[],
  problem: string | null,
  base: string,
): MergeGroupDecision {
  if (problem) {
    return {
      conclusion: "failure",
      title: "The merge group's pull requests cannot be checked",
      summary: `This merge group is not approved: ${problem}.`,
    };
  }
  if (pulls.length === 0) {
    return {
      conclusion: "failure",
      title: "No pull request found for this merge group",
      summary: "The merge group's branch names no pull request Agent Gate can check, so it is not approved.",
    };
  }
  const lines = pulls.map(
    (pull) =>
      `- #${pull.number} at \`${pull.headSha.slice(0, 7)}\`: ${pull.status ?? "no decision recorded"}${pull.title ? ` (${pull.title})` : ""}`,
  );
  // An approval counts for the base it was given for: rules and code owners are read at the base.
  const elsewhere = pulls.find((pull) => pull.status === "approved" && !sameBranch(pull.decidedBase, base));
  if (elsewhere) {
    const given = elsewhere.decidedBase ? `\`${elsewhere.decidedBase}\`` : "an unrecorded base";
    return {
      conclusion: "failure",
      title: `Pull request #${elsewhere.number} was approved for another base`,
      summary: [
        `Pull request #${elsewhere.number} was approved for ${given}, but this merge group merges into \`${base}\`: its rules and code owners there were not checked, so this merge group is not approved.`,
        "",
        ...lines,
      ].join("\n"),
    };
  }
  const blocked = pulls.find((pull) => pull.status !== "approved" && pull.status !== "exempt");
  if (blocked) {
    const others = pulls.length > 1 ? ` (one of the ${pulls.length} pull requests in the group)` : "";
    return {
      conclusion: "failure",
      title: `Pull request #${blocked.number} is not approved at ${blocked.headSha.slice(0, 7)}`,
      summary: [
        `Pull request #${blocked.number}${others} was not approved by Agent Gate at the head that entered the queue (\`${blocked.headSha}\`), so this merge group is not.`,
        "",
        ...lines,
      ].join("\n"),
    };
  }
  return {
    conclusion: "success",
    title:
      pulls.length === 1 ? `Pull request #${pulls[0]!.number} approved` : `All ${pulls.length} pull requests approved`,
    summary: [
      "Every pull request in this merge group was approved (or needed no approval) at the head that entered the queue.",
      "",
      ...lines,
    ].join("\n"),
  };
}

function sameBranch(a: string | null | undefined, b: string): boolean {
  const branch = (ref: string) => ref.replace(/^refs\/heads\//, "");
  return typeof a === "string" && branch(a) === branch(b);
}
