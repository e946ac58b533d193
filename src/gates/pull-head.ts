import type { Context } from "probot";
import type { Queryable } from "../db/database.ts";
import { knownHead } from "../proposals/store.ts";
import { currentHead } from "../github/pull-commits.ts";

/** How an event's head stands against the newest head known for its pull request. */
export type HeadStanding = (
  | { kind: "newest" }
  /** GitHub said the event's head is the pull request's head now. */
  | { kind: "confirmed" }
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
};

function pusherOf(value: unknown): { login: string; type: string } | null {
  if (!value || typeof value !== "object") return null;
  const { login, type } = value as { login?: unknown; type?: unknown };
  return typeof login === "string" && typeof type === "string" ? { login, type } : null;
}

/**
 * Whether an event's head is the pull request's current one. The newest head
 * known is that of the latest commit proposal not superseded; an event naming
 * another head (a push, or an old review or redelivery) is checked with
 * GitHub, so an older event never supersedes a newer head.
 */
export async function headStanding(
  context: Context,
  read: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>,
  where: { installationId: number; repo: string; prNumber: number },
  eventHead: string,
): Promise<HeadStanding> {
  const known = await read((tx) => knownHead(tx, where.installationId, where.repo, where.prNumber, eventHead));
  const pusher = pusherOf(known.pusher);
  const recordedBase = known.base;
  if (known.newest === null || known.newest === eventHead) return { kind: "newest", pusher, recordedBase };
  const current = await currentHead(context, context.repo(), where.prNumber);
  return current === eventHead ? { kind: "confirmed", pusher, recordedBase } : { kind: "stale", current, pusher, recordedBase };
}
