import type { Database } from "../db/database.ts";
import { recheckSites, type RecheckSummary, type SiteCheckDeps } from "./service.ts";

export interface RecheckTimerOptions {
  /** How often to look for due sites; default hourly (each site is re-checked once a day). */
  intervalMs?: number;
  now?: () => Date;
  onResult?: (summary: RecheckSummary) => void;
  /** A failed sweep is reported here and retried at the next tick; it never approves anything. */
  onError: (error: unknown) => void;
}

/**
 * Run the re-check sweep on a timer in an app process. Every replica may run
 * one: sites are claimed one by one, so each is checked once. Returns a stop
 * function that waits for a sweep in progress.
 */
export function startSiteRecheck(db: Database, deps: SiteCheckDeps, options: RecheckTimerOptions): () => Promise<void> {
  const now = options.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = recheckSites(db, deps, now())
      .then((summary) => options.onResult?.(summary), options.onError)
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, options.intervalMs ?? 60 * 60 * 1000);
  timer.unref();
  tick();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
