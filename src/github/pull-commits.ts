import type { Context } from "probot";
import { z } from "zod";
import { narrowedForEvent } from "./narrowed.ts";

/** Who wrote or committed a commit: the GitHub account it is linked to, and the name and email written in it. */
export interface GitIdentity {
  login: string | null;
  type: string | null;
  name: string | null;
  email: string | null;
}

/** One commit of a pull request, as GitHub lists it. */
export interface PullCommit {
  sha: string;
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
}

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

function identity(
  account: ListedIdentity | null,
  git: { name?: string | null; email?: string | null } | null,
): GitIdentity {
  return {
    login: account?.login ?? null,
    type: account?.type ?? null,
    name: git?.name ?? null,
    email: git?.email ?? null,
  };
}

function factOf(commit: ListedCommit): PullCommit {
  return {
    sha: commit.sha,
    author: identity(commit.author, commit.commit.author),
    committer: identity(commit.committer, commit.commit.committer),
    message: commit.commit.message,
  };
}

/**
 * A pull request's commits as agent recognition reads them: each commit's
 * author and committer (the GitHub account and the name and email written)
 * and its message, for `Co-authored-by:` trailers. Paged; needs only
 * pull_requests: read.
 */
export async function gatherPullCommits(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
): Promise<PullCommit[]> {
  const reader = await narrowedForEvent(context, ["pulls.listCommits"]);
  const commits = (await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/commits", {
    ...repo,
    pull_number: pullNumber,
    per_page: 100,
  })) as ListedCommit[];
  return commits.map(factOf);
}

/** The most commits GET /compare lists in one answer. */
const COMPARE_MAX = 250;

/**
 * The commits a push added, `before` (exclusive) to `after`: one
 * `GET /compare/{before}...{after}`. Undefined when the push is not a plain
 * fast-forward (a force push, a rewritten history) or adds more commits than
 * one answer lists: the caller then reads the pull request's whole list.
 */
export async function pushedCommits(
  context: Context,
  repo: { owner: string; repo: string },
  before: string,
  after: string,
): Promise<PullCommit[] | undefined> {
  const reader = await narrowedForEvent(context, ["repos.compareCommitsWithBasehead"]);
  let data;
  try {
    ({ data } = await reader.request("GET /repos/{owner}/{repo}/compare/{basehead}", {
      ...repo,
      basehead: `${before}...${after}`,
      per_page: COMPARE_MAX,
    }));
  } catch (error) {
    // `before` is gone from the repository (a force push, garbage-collected): the whole list instead.
    const status = (error as { status?: unknown }).status;
    if (status === 404 || status === 422) return undefined;
    throw error;
  }
  const commits = data.commits as ListedCommit[];
  if (data.status !== "ahead" || data.total_commits !== commits.length || commits.length > COMPARE_MAX)
    return undefined;
  return commits.map(factOf);
}

const identitySchema = z.object({
  login: z.string().nullable(),
  type: z.string().nullable(),
  name: z.string().nullable(),
  email: z.string().nullable(),
});
const storedCommits = z.array(
  z.object({ sha: z.string(), author: identitySchema, committer: identitySchema, message: z.string() }),
);

/** Commits recorded with a head (a proposal's facts), or undefined when none are recorded or they do not read as commits. */
export function recordedCommits(value: unknown): PullCommit[] | undefined {
  const parsed = storedCommits.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The pull request's head as GitHub has it now: asked when an event's head is not the newest one known. */
export async function currentHead(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
): Promise<string> {
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
    ...repo,
    pull_number: pullNumber,
  });
  return data.head.sha;
}

/** The pull request as GitHub has it now (a re-run re-evaluates it as if an event had just named it). */
export async function pullRequestNow(context: Context, repo: { owner: string; repo: string }, pullNumber: number) {
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
    ...repo,
    pull_number: pullNumber,
  });
  return data;
}
