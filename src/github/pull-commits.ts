import type { Context } from "probot";
import type { GitIdentity, PullCommitFact } from "../policy/agent-recognition.ts";
import { narrowedForEvent } from "./narrowed.ts";

interface ListedIdentity {
  login?: string | null;
  type?: string | null;
}

interface ListedCommit {
  sha: string;
  author: ListedIdentity | null;
  committer: ListedIdentity | null;
  commit: {
    author: { name?: string | null; email?: string | null } | null;
    committer: { name?: string | null; email?: string | null } | null;
    message: string;
  };
}

function identity(account: ListedIdentity | null, git: { name?: string | null; email?: string | null } | null): GitIdentity {
  return { login: account?.login ?? null, type: account?.type ?? null, name: git?.name ?? null, email: git?.email ?? null };
}

/**
 * A pull request's commits as agent recognition reads them: each commit's
 * author and committer (the GitHub account and the name and email written)
 * and its message, for `Co-authored-by:` trailers. Paged; needs only
 * pull_requests: read.
 */
export async function gatherPullCommits(context: Context, repo: { owner: string; repo: string }, pullNumber: number): Promise<PullCommitFact[]> {
  const reader = await narrowedForEvent(context, ["pulls.listCommits"]);
  const commits = (await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/commits", {
    ...repo,
    pull_number: pullNumber,
    per_page: 100,
  })) as ListedCommit[];
  return commits.map((commit) => ({
    sha: commit.sha,
    author: identity(commit.author, commit.commit.author),
    committer: identity(commit.committer, commit.commit.committer),
    message: commit.commit.message,
  }));
}

/** The pull request's head as GitHub has it now: asked when an event's head is not the newest one known. */
export async function currentHead(context: Context, repo: { owner: string; repo: string }, pullNumber: number): Promise<string> {
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { ...repo, pull_number: pullNumber });
  return data.head.sha;
}

/** The pull request as GitHub has it now (a re-run re-evaluates it as if an event had just named it). */
export async function pullRequestNow(context: Context, repo: { owner: string; repo: string }, pullNumber: number) {
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { ...repo, pull_number: pullNumber });
  return data;
}
