import type { Queryable } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import type { CheckResult } from "./check-result.ts";
import { tokenDigest } from "./challenge.ts";
import { checkDns, type TxtResolver } from "./dns-check.ts";
import { checkFile, type FetchLike } from "./file-check.ts";
import { nextState, type SiteState } from "./policy.ts";
import { recordCheck, type SiteRow } from "./store.ts";

/** The network edges of a site check, injected. */
export interface SiteCheckDeps {
  resolver: TxtResolver;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
}

/** Run the check of the site's method. Never throws for network trouble: that is "could_not_check". */
export async function runCheck(
  deps: SiteCheckDeps,
  site: Pick<SiteRow, "domain" | "method" | "token">,
): Promise<CheckResult> {
  if (site.method === "dns") return checkDns(deps.resolver, site.domain, site.token);
  return checkFile(deps.fetch ?? ((url, init) => fetch(url, init)), site.domain, site.token);
}

/**
 * Store the result of a check on the site and audit it: "site.verified" on
 * success, "site.check_failed" otherwise, and "site.lapsed" when this check
 * lapses the site. Runs in the site's tenant transaction.
 */
export async function applyCheck(
  tx: Queryable,
  site: SiteRow,
  result: CheckResult,
  audit: { actor: string; trigger: "verify" | "recheck" },
  now: Date,
): Promise<SiteState> {
  const next = nextState(site, result.outcome === "verified", now);
  await recordCheck(tx, { ...site, ...next, last_outcome: result.outcome }, now);
  const data = {
    domain: site.domain,
    method: site.method,
    trigger: audit.trigger,
    reason: result.reason,
    state: next.state,
    token_sha256: tokenDigest(site.token),
  };
  const base = { actor: audit.actor, actorIsBot: audit.trigger === "recheck", subject: `site:${site.domain}` };
  await appendAudit(
    tx,
    site.installation_id,
    {
      ...base,
      action: result.outcome === "verified" ? "site.verified" : "site.check_failed",
      outcome: result.outcome,
      data,
    },
    now,
  );
  if (next.lapsed_now) {
    await appendAudit(
      tx,
      site.installation_id,
      {
        ...base,
        action: "site.lapsed",
        outcome: "lapsed",
        data: { ...data, failing_since: next.failing_since?.toISOString() ?? null },
      },
      now,
    );
  }
  return next.state;
}
