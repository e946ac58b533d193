import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";

/**
 * A pull request's changed files (GET /repos/{owner}/{repo}/pulls/{n}/files,
 * every page). A renamed file counts under both names: moving a file out of
 * a guarded directory changes that directory too. GitHub lists at most 3,000
 * files; any error is thrown (the gate stays closed).
 */
export async function changedFilesOf(context: Context, repo: { owner: string; repo: string }, pullNumber: number): Promise<string[]> {
  const reader = await narrowedForEvent(context, ["pulls.listFiles"]);
  const files = await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", { ...repo, pull_number: pullNumber, per_page: 100 });
  const names = new Set<string>();
  for (const file of files) {
    names.add(file.filename);
    if (file.previous_filename) names.add(file.previous_filename);
  }
  return [...names].sort();
}
