import { awaitedLater } from "../errors.ts";
import type { Context } from "probot";
import { narrowedForEvent } from "./narrowed.ts";
import { permissionOf, type Permission } from "./permissions.ts";

/** One pull request review as GitHub lists it, with its reviewer's permission on the repository. */
export interface PullReview {
  reviewer: { login: string; type: string; permission: Permission };
  state: "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED";
  commitId: string | null;
  submittedAt: string;
}

/** The review states that count (COMMENTED changes no vote, so its reviewer's permission is not asked). */
const STATES: readonly PullReview["state"][] = ["APPROVED", "CHANGES_REQUESTED", "DISMISSED"];

/** How many reviewers' permissions one evaluation asks GitHub for at once. */
const PERMISSION_READS_AT_ONCE = 4;

export interface GatherOptions {
  /**
   * A reviewer expected in the list (the author of the review an event
   * reports): their permission is asked at the same time as the list, not
   * after it. It is used only if the list holds a counting review of theirs;
   * an error for one it does not is dropped.
   */
  expectedReviewer?: { login: string; type: string } | null;
}

/**
 * A pull request's reviews that can be votes (approvals, change requests and
 * dismissals; comments are not), each with its reviewer's permission asked
 * of GitHub now. A reviewer `notAsked` names (the caller knows who can never
 * approve) is not asked and holds none. Distinct reviewers are asked a few
 * at a time.
 */
export async function gatherReviews(
  context: Context,
  repo: { owner: string; repo: string },
  pullNumber: number,
  notAsked: (login: string, type: string) => boolean,
  options: GatherOptions = {},
): Promise<PullReview[]> {
  const permissions = new Map<string, Promise<Permission>>();
  const ask = (login: string, type: string): Promise<Permission> => {
    const key = login.toLowerCase();
    let asked = permissions.get(key);
    if (!asked) {
      asked = notAsked(login, type) ? Promise.resolve("none") : permissionOf(context, repo, login);
      permissions.set(key, asked);
    }
    return asked;
  };
  const expected = options.expectedReviewer;
  // Asked early; awaited only if the list holds this reviewer.
  if (expected) awaitedLater(ask(expected.login, expected.type));

  const reader = await narrowedForEvent(context, ["pulls.listReviews"]);
  const reviews = await reader.paginate("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
    ...repo,
    pull_number: pullNumber,
    per_page: 100,
  });
  const counted = reviews.flatMap((review) => {
    const login = review.user?.login;
    const state = review.state as PullReview["state"];
    if (!login || !STATES.includes(state)) return [];
    const type = review.user?.type ?? "User";
    return [{ login, type, state, commitId: review.commit_id ?? null, submittedAt: review.submitted_at ?? "" }];
  });
  // Distinct reviewers asked a few at a time: one pull request can hold dozens.
  const logins = [...new Map(counted.map((review) => [review.login.toLowerCase(), review])).values()];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PERMISSION_READS_AT_ONCE, logins.length) }, async () => {
      while (next < logins.length) {
        const review = logins[next++]!;
        await ask(review.login, review.type);
      }
    }),
  );
  const asked = await Promise.all(counted.map((review) => ask(review.login, review.type)));
  return counted.map((review, i) => ({
    reviewer: { login: review.login, type: review.type, permission: asked[i]! },
    state: review.state,
    commitId: review.commitId,
    submittedAt: review.submittedAt,
  }));
}
