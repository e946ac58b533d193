/** Timing of site verification: how often verified sites are re-checked, and the grace before a failing one lapses. */
export const RECHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;
export const LAPSE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

export type SiteState = "pending" | "verified" | "failing" | "lapsed";
export type SiteMethod = "dns" | "file";

export interface SiteStatus {
  state: SiteState;
  verified_at: Date | null;
  failing_since: Date | null;
}

/**
 * Whether a stored site may be named by a new proposal at `now`. A failing
 * site keeps its verification during the grace period; past it, or when no
 * successful check happened within a re-check interval plus the grace (the
 * sweep has not run), the site counts as lapsed even before the sweep marks it.
 */
export function siteStanding(site: SiteStatus, now: Date): "verified" | "pending" | "lapsed" {
  if (site.state === "pending") return "pending";
  if (site.state === "lapsed" || site.verified_at === null) return "lapsed";
  const t = now.getTime();
  if (site.failing_since !== null && t - site.failing_since.getTime() >= LAPSE_AFTER_MS) return "lapsed";
  if (t - site.verified_at.getTime() >= RECHECK_INTERVAL_MS + LAPSE_AFTER_MS) return "lapsed";
  return "verified";
}

export interface Transition {
  state: SiteState;
  verified_at: Date | null;
  failing_since: Date | null;
  /** True when this check is the one that lapsed the site. */
  lapsed_now: boolean;
}

/**
 * The state after one check. A success verifies; a failure (including "could
 * not check") leaves a pending or lapsed site as it is, turns a verified site
 * failing from this check on, and lapses it once it has failed for 7 days.
 */
export function nextState(site: SiteStatus, verified: boolean, now: Date): Transition {
  if (verified) return { state: "verified", verified_at: now, failing_since: null, lapsed_now: false };
  if (site.state === "pending" || site.state === "lapsed") {
    return { state: site.state, verified_at: site.verified_at, failing_since: site.failing_since, lapsed_now: false };
  }
  const failingSince = site.failing_since ?? now;
  const lapsed = siteStanding({ ...site, failing_since: failingSince }, now) === "lapsed";
  return {
    state: lapsed ? "lapsed" : "failing",
    verified_at: site.verified_at,
    failing_since: failingSince,
    lapsed_now: lapsed,
  };
}
