import type { VisibleProposal } from "../api/proposals-routes.ts";
import type { DecisionWaiter } from "../proposals/wait.ts";

/** Reports how long a call has waited: seconds so far, of `total`. */
export type Progress = (progress: number, total: number, message: string) => Promise<void>;

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
