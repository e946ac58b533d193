import { createHash } from "node:crypto";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { challengeFor, newChallengeToken, tokenDigest, type Challenge } from "./challenge.ts";
import type { CheckOutcome } from "./check-result.ts";
import { normalizeDomain } from "./domain.ts";
import { RECHECK_INTERVAL_MS, type SiteMethod, type SiteState } from "./policy.ts";
import { applyCheck, runCheck, type SiteCheckDeps } from "./run-check.ts";
import {
  claimDueSite,
  findSite,
  insertSite,
  selectDueSites,
  selectSites,
  setSiteMethod,
  type SiteRow,
} from "./store.ts";

export type { SiteCheckDeps } from "./run-check.ts";

export function parseMethod(input: unknown): SiteMethod {
  if (input === "dns" || input === "file") return input;
  throw new ValidationError([{ field: "method", message: 'must be "dns" or "file"' }]);
}

/**
 * Register a site for an installation and return the challenge to publish.
 * Adding it again returns the same token (a published record stays valid);
 * a different method is recorded for the next check, and no method keeps
 * the current one (DNS for a new site).
 */
export async function addSite(
  db: Database,
  installationId: number,
  domain: unknown,
  method: unknown,
  actor: string,
  now: Date,
): Promise<Challenge> {
  let name: string;
  let chosen: SiteMethod | undefined;
  try {
    name = normalizeDomain(domain);
    chosen = method === undefined || method === null ? undefined : parseMethod(method);
  } catch (error) {
    if (error instanceof ValidationError)
      await auditRefusal(db, installationId, "site.added", "refused", error.message, domain, actor, now);
    throw error;
  }
  return db.tenant(installationId, async (tx) => {
    const created = await insertSite(tx, {
      installation_id: installationId,
      domain: name,
      method: chosen ?? "dns",
      token: newChallengeToken(),
      created_at: now,
    });
    const site = created ?? (await findSite(tx, installationId, name, true));
    if (!site) throw new Error("site row vanished while being added");
    const method = chosen ?? site.method;
    const outcome = created ? "created" : site.method === method ? "unchanged" : "method_changed";
    if (outcome === "method_changed") await setSiteMethod(tx, installationId, name, method);
    await appendAudit(
      tx,
      installationId,
      {
        action: "site.added",
        outcome,
        actor,
        subject: `site:${name}`,
        data: { domain: name, method, state: site.state, token_sha256: tokenDigest(site.token) },
      },
      now,
    );
    return challengeFor(name, method, site.token);
  });
}

/** An attempt refused before it reached a site row is audited too: the reason and a digest of the input, never the input itself. */
async function auditRefusal(
  db: Database,
  installationId: number,
  action: string,
  outcome: string,
  reason: string,
  input: unknown,
  actor: string,
  now: Date,
): Promise<void> {
  const inputDigest = createHash("sha256")
    .update(typeof input === "string" ? input : (JSON.stringify(input) ?? ""), "utf8")
    .digest("hex");
  await db.tenant(installationId, (tx) =>
    appendAudit(tx, installationId, { action, outcome, actor, data: { reason, input_sha256: inputDigest } }, now),
  );
}

export interface VerifyResult {
  domain: string;
  state: SiteState;
  outcome: CheckOutcome;
  message: string;
}

/** Check a site now, store the result and audit it. */
export async function verifySite(
  db: Database,
  deps: SiteCheckDeps,
  installationId: number,
  domain: unknown,
  actor: string,
  now: Date,
): Promise<VerifyResult> {
  let name: string;
  try {
    name = normalizeDomain(domain);
  } catch (error) {
    if (error instanceof ValidationError)
      await auditRefusal(db, installationId, "site.check_failed", "refused", error.message, domain, actor, now);
    throw error;
  }
  const site = await db.tenant(installationId, (tx) => findSite(tx, installationId, name));
  if (!site) {
    await auditRefusal(
      db,
      installationId,
      "site.check_failed",
      "unknown_site",
      `${name} was never added`,
      name,
      actor,
      now,
    );
    throw new NotFoundError(
      `Site ${name} for installation ${installationId} (add it first with \`agent-gate site add ${name} --installation ${installationId}\`)`,
    );
  }
  const result = await runCheck(deps, site);
  const state = await db.tenant(installationId, async (tx) => {
    const current = (await findSite(tx, installationId, name, true)) ?? site;
    return applyCheck(tx, current, result, { actor, trigger: "verify" }, now);
  });
  const challenge = challengeFor(name, site.method, site.token);
  const where =
    site.method === "dns"
      ? `TXT record ${challenge.record_name} = "${challenge.record_value}"`
      : `file ${challenge.file_url} holding ${challenge.token}`;
  const message =
    result.outcome === "verified"
      ? `${name} is verified for installation ${installationId}: ${result.reason}.`
      : `${name} is not verified (${state}): ${result.reason}. Publish the ${where}, then verify again.`;
  return { domain: name, state, outcome: result.outcome, message };
}

export interface SiteView {
  installation_id: number;
  domain: string;
  method: SiteMethod;
  state: SiteState;
  verified_at: string | null;
  last_checked_at: string | null;
  last_outcome: string | null;
  failing_since: string | null;
  created_at: string;
}

function view(row: SiteRow): SiteView {
  const iso = (value: Date | null) => (value ? value.toISOString() : null);
  return {
    installation_id: row.installation_id,
    domain: row.domain,
    method: row.method,
    state: row.state,
    verified_at: iso(row.verified_at),
    last_checked_at: iso(row.last_checked_at),
    last_outcome: row.last_outcome,
    failing_since: iso(row.failing_since),
    created_at: row.created_at.toISOString(),
  };
}

/** Sites of one installation, or of every installation (admin CLI) when none is given. */
export async function listSites(db: Database, installationId?: number): Promise<SiteView[]> {
  const rows =
    installationId === undefined
      ? await db.transaction((tx) => selectSites(tx))
      : await db.tenant(installationId, (tx) => selectSites(tx, installationId));
  return rows.map(view);
}

export interface RecheckSummary {
  checked: number;
  verified: number;
  failed: number;
  lapsed: number;
}

/**
 * The daily sweep: re-check verified and failing sites not checked for 24 h.
 * Safe with several processes: each site is claimed (its last check bumped)
 * in a short transaction before the network check, so no two processes check
 * the same site, and no transaction stays open across the network call.
 */
export async function recheckSites(
  db: Database,
  deps: SiteCheckDeps,
  now: Date,
  options: { limit?: number } = {},
): Promise<RecheckSummary> {
  const dueBefore = new Date(now.getTime() - RECHECK_INTERVAL_MS);
  const due = await db.transaction((tx) => selectDueSites(tx, dueBefore, options.limit ?? 500));
  const summary: RecheckSummary = { checked: 0, verified: 0, failed: 0, lapsed: 0 };
  for (const { installation_id: installationId, domain } of due) {
    const claimed = await db.tenant(installationId, (tx) => claimDueSite(tx, installationId, domain, dueBefore, now));
    if (!claimed) continue;
    const result = await runCheck(deps, claimed);
    const state = await db.tenant(installationId, async (tx) => {
      const current = await findSite(tx, installationId, domain, true);
      return current
        ? applyCheck(tx, current, result, { actor: "agent-gate[site-recheck]", trigger: "recheck" }, now)
        : undefined;
    });
    if (state === undefined) continue;
    summary.checked += 1;
    if (result.outcome === "verified") summary.verified += 1;
    else summary.failed += 1;
    if (state === "lapsed") summary.lapsed += 1;
  }
  return summary;
}
