import type { Context } from "probot";

/** The pull request events that move a head: each goes to the outreach gate or the commit gate. */
export const PULL_EVENTS = [
  "pull_request.opened",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request_review.submitted",
  "pull_request_review.dismissed",
  "pull_request_review.edited",
] as const;

/** Every pull request event a gate reads: those above, a base edited, and (outreach only) a close. */
export type PullEventName = (typeof PULL_EVENTS)[number] | "pull_request.edited" | "pull_request.closed";

/** A webhook context of one of those events, its payload typed from @octokit/webhooks. */
export type PullContext = Context<PullEventName>;
