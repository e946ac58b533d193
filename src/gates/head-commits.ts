import type { Context } from "probot";
import type { PullCommitFact } from "../policy/agent-recognition.ts";
import { gatherPullCommits, pushedCommits } from "../github/pull-commits.ts";
import type { HeadStanding } from "./pull-head.ts";

/**
 * A head's commits, read from GitHub once per head:
 * - recorded with the head already (a review, a redelivery): those, no read;
 * - a push from a head whose commits are recorded: only the commits it added
 *   (`GET /compare/{before}...{after}`), after those; when the push is not a
 *   fast-forward, or the sum does not match the pull request's commit count,
 *   the whole list instead;
 * - otherwise the pull request's whole list.
 * A commit's author, committer and message are fixed by its SHA, so a
 * recorded list is the one GitHub would answer for that head.
 */
export async function headCommits(
  context: Context,
  repo: { owner: string; repo: string },
  pull: { number: number; headSha: string; commitCount: number | undefined },
  standing: Pick<HeadStanding, "commits" | "beforeCommits">,
  before: string | null,
): Promise<PullCommitFact[]> {
  if (standing.commits) return standing.commits;
  if (before !== null && standing.beforeCommits) {
    const added = await pushedCommits(context, repo, before, pull.headSha);
    const all = added ? [...standing.beforeCommits, ...added] : undefined;
    if (all && (pull.commitCount === undefined || pull.commitCount === all.length)) return all;
  }
  return gatherPullCommits(context, repo, pull.number);
}
