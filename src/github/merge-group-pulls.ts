import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";

/** GitHub's merge group, as the merge_group event gives it. */
export interface MergeGroupRefs {
  head_sha: string;
  head_ref: string;
  base_sha: string;
  base_ref: string;
}

/** A group adds at most this many commits to its base before the gate stops counting (and fails closed). */
export const MAX_GROUP_COMMITS = 1000;

interface ListedCommit {
  sha: string;
  commit: { message: string };
  committer: { login?: string } | null;
}

interface ListedPull {
  number: number;
  state: string;
  head: { sha: string };
  base: { ref: string };
}

/** A pull request of a group, at the head that entered the queue, and how it was found. */
export interface GroupPull {
  number: number;
  headSha: string;
  foundBy: "branch" | "commit" | "message";
}

// GitHub's own names: the queue's branch, and the first line of the merge and squash commits it makes.
const QUEUE_REF = /^(?:refs\/heads\/)?gh-readonly-queue\/(.+)\/pr-(\d+)-([0-9a-f]{40})$/;

/** The pull request a merge group's head_ref names, or null when the ref is not a merge queue's. */
export function queuedPullOf(headRef: string): { base: string; number: number; headSha: string } | null {
  const match = QUEUE_REF.exec(headRef);
  if (!match) return null;
  return { base: match[1]!, number: Number(match[2]), headSha: match[3]! };
}

const MERGE_MESSAGE = /^Merge pull request #(\d+) from /;
const SQUASH_MESSAGE = /\(#(\d+)\)$/;

/**
 * The pull request a merge or squash commit made by GitHub names in its first
 * line: "Merge pull request #12 from owner/branch" or "Title (#12)".
 */
export function pullsNamedBy(message: string): number[] {
  const first = message.split("\n", 1)[0]!.trim();
  const match = MERGE_MESSAGE.exec(first) ?? SQUASH_MESSAGE.exec(first);
  return match ? [Number(match[1])] : [];
}

const branchOf = (ref: string) => ref.replace(/^refs\/heads\//, "");

/**
 * Every pull request in a merge group. The queue's branch names only the
 * last one (`gh-readonly-queue/<base>/pr-<n>-<sha>`); the ones queued before
 * it in the same group are found from the commits the group adds to its base
 * (GET /compare/{base_sha}...{head_sha}): the open pull requests into the
 * same base each commit belongs to (GET /commits/{sha}/pulls), and the
 * pull requests GitHub's own merge and squash commits name ("Merge pull
 * request #n", "… (#n)"), asked of GitHub for their head. A pull request in
 * the queue cannot move its head, so that head is the one that entered the
 * queue. Finding more than the group holds only makes the check stricter.
 * Any error is thrown (the group is not approved); a group whose commits
 * cannot all be read is a problem, returned with why.
 */
export async function pullsOfMergeGroup(
  context: Context,
  group: MergeGroupRefs,
): Promise<{ pulls: GroupPull[]; problem: string | null }> {
  const repo = context.repo();
  const base = branchOf(group.base_ref);
  const queued = queuedPullOf(group.head_ref);
  if (!queued) return { pulls: [], problem: `the merge group's branch ${group.head_ref} is not a merge queue's` };

  const compare = await narrowedForEvent(context, ["repos.compareCommitsWithBasehead"]);
  const commits: ListedCommit[] = [];
  for (let page = 1; ; page++) {
    const { data } = await compare.request("GET /repos/{owner}/{repo}/compare/{basehead}", {
      ...repo,
      basehead: `${group.base_sha}...${group.head_sha}`,
      per_page: 100,
      page,
    });
    if (data.total_commits > MAX_GROUP_COMMITS) {
      return {
        pulls: [],
        problem: `the merge group adds ${data.total_commits} commits to its base, more than the ${MAX_GROUP_COMMITS} Agent Gate reads to find its pull requests`,
      };
    }
    commits.push(...(data.commits as ListedCommit[]));
    if (data.commits.length === 0 || commits.length >= data.total_commits) break;
  }

  const found = new Map<number, GroupPull>();
  const add = (pull: ListedPull, foundBy: GroupPull["foundBy"]) => {
    if (pull.state !== "open" || pull.base.ref !== base || found.has(pull.number)) return;
    found.set(pull.number, { number: pull.number, headSha: pull.head.sha, foundBy });
  };
  const associated = await narrowedForEvent(context, ["repos.listPullRequestsAssociatedWithCommit"]);
  for (const commit of commits) {
    const pulls = (await associated.paginate("GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls", {
      ...repo,
      commit_sha: commit.sha,
      per_page: 100,
    })) as ListedPull[];
    for (const pull of pulls) add(pull, "commit");
  }
  // The merge and squash commits GitHub made for the queue name the pull request they add.
  const named = commits
    .filter((commit) => commit.committer?.login === "web-flow")
    .flatMap((commit) => pullsNamedBy(commit.commit.message));
  const reader = named.some((number) => !found.has(number) && number !== queued.number)
    ? await narrowedForEvent(context, ["pulls.get"])
    : null;
  for (const number of new Set(named)) {
    if (found.has(number) || number === queued.number || !reader) continue;
    try {
      const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
        ...repo,
        pull_number: number,
      });
      add(data as ListedPull, "message");
    } catch (error) {
      // A number that is no pull request (an issue; a message written in GitHub's web editor) adds none.
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  // The pull request the branch names, at the head that entered the queue, last.
  found.delete(queued.number);
  return {
    pulls: [...found.values(), { number: queued.number, headSha: queued.headSha, foundBy: "branch" }],
    problem: null,
  };
}
