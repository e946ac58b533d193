import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";

/**
 * The pull request's base branch as GitHub has it now: asked when an event's
 * base is not the one the head was decided for (a base edited, or an event
 * older than the edit), so an old event never decides a head for a base the
 * pull request no longer targets.
 */
export async function currentBase(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
): Promise<string> {
  const reader = await narrowedForEvent(context, ["pulls.get"]);
  const { data } = await reader.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
    ...repo,
    pull_number: pullNumber,
  });
  return data.base.ref;
}
