import type { Context } from "probot";
import type { ReviewFact } from "../policy/decision.ts";
import { narrowedForEvent } from "./narrowed.ts";
import { permissionOf } from "./permissions.ts";

const STATES: readonly ReviewFact["state"][] = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"];

/**
 * A pull request's reviews as the policy reads them, each with its reviewer's
 * permission asked of GitHub now. The proposer and bots are not asked: they
 * can never approve, whatever their permission.
 */
export async function gatherReviews(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
  proposer: string,
): Promise<ReviewFact[]> {
  const reader = await narrowedForEvent(context, ["pulls.listReviews"]);
  const reviews = await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
    ...repo,
    pull_number: pullNumber,
    per_page: 100,
  });
  const permissions = new Map<string, Promise<ReviewFact["reviewer"]["permission"]>>();
  const facts: ReviewFact[] = [];
  for (const review of reviews) {
    const login = review.user?.login;
    if (!login) continue;
    const type = review.user?.type ?? "User";
    const skip = login.toLowerCase() === proposer.toLowerCase() || type === "Bot" || login.endsWith("[bot]");
    if (!permissions.has(login)) {
      permissions.set(login, skip ? Promise.resolve("none") : permissionOf(context, repo, login));
    }
    const state = review.state as ReviewFact["state"];
    if (!STATES.includes(state)) continue;
    facts.push({
      reviewer: { login, type, permission: await permissions.get(login)! },
      state,
      commitId: review.commit_id ?? null,
      submittedAt: review.submitted_at ?? "",
    });
  }
  return facts;
}
