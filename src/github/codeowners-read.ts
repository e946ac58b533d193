import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";

/** Where GitHub looks for CODEOWNERS, in order; the first found is used. */
export const CODEOWNERS_PATHS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;

/**
 * CODEOWNERS as GitHub finds it on a branch: the first of .github/CODEOWNERS,
 * CODEOWNERS and docs/CODEOWNERS that exists; null when none does. Read at
 * the pull request's base, so a change cannot choose its own owners.
 */
export async function readCodeowners(
  context: Context,
  repo: { owner: string; repo: string },
  ref: string,
): Promise<{ path: string; text: string } | null> {
  const reader = await narrowedForEvent(context, ["repos.getContent"]);
  for (const path of CODEOWNERS_PATHS) {
    try {
      const { data } = await reader.request("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path, ref });
      if (Array.isArray(data) || data.type !== "file" || !("content" in data)) continue;
      return { path, text: Buffer.from(data.content, "base64").toString("utf8") };
    } catch (error) {
      if ((error as { status?: number }).status === 404) continue;
      throw error;
    }
  }
  return null;
}
