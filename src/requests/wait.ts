import { UnavailableError } from "../errors.ts";
import type { DecisionWaiter } from "../proposals/wait.ts";
import type { Principal } from "./auth.ts";
import type { RequestDeps } from "./deps.ts";
import { RECHECK_MS } from "./limits.ts";
import { readVisible, type VisibleProposal } from "./read.ts";

/** Reports how long a call has waited: seconds so far, of `total`. */
export type Progress = (progress: number, total: number, message: string) => Promise<void>;

export interface WaitOptions {
  waitMs: number;
  signal: AbortSignal;
  progress: Progress | null;
  /** The proposal's review page, named in progress reports. */
  url: string;
  /** What the refusal says when decisions cannot be awaited: how to ask without waiting. */
  unavailable: string;
}

/**
 * Read a proposal the principal may see, holding up to `waitMs` while it is
 * pending. `waited` says whether the call slept: the caller then asks again
 * who is calling, so a key revoked or expired during the wait is refused.
 */
export async function readAwaited(
  deps: RequestDeps,
  principal: Principal,
  id: string,
  o: WaitOptions,
): Promise<{ view: VisibleProposal; waited: boolean }> {
  if (o.waitMs > 0) {
    await deps.waiter.start().catch((error: unknown) => {
      throw new UnavailableError(o.unavailable, error);
    });
  }
  const waitDeps = { waiter: deps.waiter, recheckMs: deps.recheckMs ?? RECHECK_MS };
  return waitForDecision(waitDeps, id, () => readVisible(deps, principal, id), o);
}

export interface WaitDeps {
  waiter: DecisionWaiter;
  /** Longest sleep between two reads, and so between two progress reports. */
  recheckMs: number;
}

/**
 * Read a proposal, and while it is pending hold up to `waitMs` for its
 * decision: woken by the DecisionWaiter (PostgreSQL NOTIFY, so a decision
 * taken by any replica counts), re-read at least every `recheckMs`, with a
 * progress report before each sleep. The watch is taken before the first
 * read, so a decision committed in between is not missed.
 */
export async function waitForDecision(
  deps: WaitDeps,
  id: string,
  read: () => Promise<VisibleProposal>,
  o: { waitMs: number; signal: AbortSignal; progress: Progress | null; url: string },
): Promise<{ view: VisibleProposal; waited: boolean }> {
  const started = performance.now();
  const watch = deps.waiter.watch(id);
  let reported = -1;
  try {
    let view = await read();
    let waited = false;
    while (view.row.status === "pending" && !o.signal.aborted) {
      const elapsed = performance.now() - started;
      const left = o.waitMs - elapsed;
      if (left <= 0) break;
      if (o.progress) {
        // Progress must grow with each report.
        reported = Math.max(reported + 0.001, Math.round(elapsed) / 1000);
        await o.progress(reported, o.waitMs / 1000, `Pending: waiting for a person to decide at ${o.url}`);
      }
      await watch.next(Math.min(left, deps.recheckMs), o.signal);
      waited = true;
      view = await read();
    }
    return { view, waited };
  } finally {
    watch.cancel();
  }
}
