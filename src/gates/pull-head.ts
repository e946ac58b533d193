import type { Context } from "probot";
import type { Queryable } from "../db/database.ts";
import { knownHead } from "../proposals/store.ts";
import { currentHead, recordedCommits } from "../github/pull-commits.ts";
import type { PullCommitFact } from "../policy/agent-recognition.ts";

/** How an event's head stands against the newest head known for its pull request. */
export type HeadStanding = (
  | { kind: "newest" }
  /** GitHub said the event's head is the pull request's head now. */
  | { kind: "confirmed" }
  /** A push moved the pull request on from the newest head known to this one. */
  | { kind: "pushed" }
  /** GitHub's head is another: the event is older than what is known and moves nothing. */
  | { kind: "stale"; current: string }
) & {
  /**
   * Who pushed this head, as recorded when its `synchronize` arrived: later
   * events of the same head (reviews) do not carry the pusher, and an agent's
   * push stays an agent's push.
   */
  pusher: { login: string; type: string } | null;
  /** The base this head's decision was made for, as recorded; null when none was. */
  recordedBase: string | null;
  /** The commits recorded with this head (read from GitHub once per head), if any. */
  commits: PullCommitFact[] | undefined;
  /** The commits recorded with the head a push moved from, if any. */
  beforeCommits: PullCommitFact[] | undefined;
};

function pusherOf(value: unknown): { login: string; type: string } | null {
  if (!value || typeof value !== "object") return null;
  const { login, type } = value as { login?: unknown; type?: unknown };
  return typeof login === "string" && typeof type === "string" ? { login, type } : null;
}

/**
 * Whether an event's head is the pull request's current one. The newest head
 * known is that of the latest commit proposal not superseded. A push
 * (`synchronize`) whose `before` is that head moved the pull request on from
 * it: its head is the newest, and GitHub is not asked. An event naming any
 * other head (an old review or a redelivery) is checked with GitHub, so an
 * older event never supersedes a newer head.
 */
export async function headStanding(
  context: Context,
  read: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>,
  where: { installationId: number; repo: string; prNumber: number },
  eventHead: string,
  before: string | null = null,
): Promise<HeadStanding> {
  const known = await read((tx) => knownHead(tx, where.installationId, where.repo, where.prNumber, eventHead, before));
  const recorded = {
    pusher: pusherOf(known.pusher),
    recordedBase: known.base,
    commits: recordedCommits(known.commits),
    beforeCommits: recordedCommits(known.beforeCommits),
  };
  if (known.newest === null || known.newest === eventHead) return { kind: "newest", ...recorded };
  if (before !== null && known.newest === before) return { kind: "pushed", ...recorded };
  const current = await currentHead(context, context.repo(), where.prNumber);
  return current === eventHead ? { kind: "confirmed", ...recorded } : { kind: "stale", current, ...recorded };
}
