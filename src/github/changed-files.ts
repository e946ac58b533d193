import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";

/**
 * A pull request's changed files (GET /repos/{owner}/{repo}/pulls/{n}/files,
 * every page). A renamed file counts under both names: moving a file out of
 * a guarded directory changes that directory too. GitHub lists at most 3,000
 * files: `listed` is how many it listed, for the caller to compare with the
 * pull request's `changed_files`. Any error is thrown (the gate stays closed).
 */
export async function changedFilesOf(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
): Promise<{ files: string[]; listed: number }> {
  const reader = await narrowedForEvent(context, ["pulls.listFiles"]);
  const files = await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", {
    ...repo,
    pull_number: pullNumber,
    per_page: 100,
  });
  const names = new Set<string>();
  for (const file of files) {
    names.add(file.filename);
    if (file.previous_filename) names.add(file.previous_filename);
  }
  return { files: [...names].sort(), listed: files.length };
}

/**
 * How many files the pull request changes (`changed_files`): from the event
 * when it carries the count for this head (pull_request events do, review
 * events do not), otherwise asked of GitHub (GET /pulls/{n}). Null when
 * GitHub's pull request has moved on to another head: its count is not this
 * head's.
 */
export async function changedFilesCount(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
  headSha: string,
): Promise<number | null> {
  const pr = (context.payload as { pull_request?: { changed_files?: unknown; head?: { sha?: string } } }).pull_request;
  if (typeof pr?.changed_files === "number" && pr.head?.sha === headSha) return pr.changed_files;
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
    ...repo,
    pull_number: pullNumber,
  });
  return data.head.sha === headSha ? data.changed_files : null;
}
