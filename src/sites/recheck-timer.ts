import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { startLoop, type Loop } from "../loop.ts";
import { recheckSites, type RecheckSummary, type SiteCheckDeps } from "./service.ts";

export interface RecheckTimerOptions {
  /** How often to look for due sites; default hourly (each site is re-checked once a day). */
  intervalMs?: number;
  now?: () => Date;
  onResult?: (summary: RecheckSummary) => void;
  /** A failed sweep is logged and counted here and retried at the next tick; it never approves anything. */
  log: Logger;
}

/**
 * Run the re-check sweep at start and on a timer in an app process. Every
 * replica may run one: sites are claimed one by one, so each is checked once.
 * Its stop waits for a sweep in progress.
 */
export function startSiteRecheck(db: Database, deps: SiteCheckDeps, options: RecheckTimerOptions): Loop {
  const now = options.now ?? (() => new Date());
  const sweep = async () => options.onResult?.(await recheckSites(db, deps, now()));
  return startLoop("site re-check sweep", sweep, options.intervalMs ?? 60 * 60 * 1000, options.log, { atStart: true });
}
