import type { Queryable } from "../db/database.ts";
import type { SiteMethod, SiteState } from "./policy.ts";

export interface SiteRow {
  installation_id: number;
  domain: string;
  method: SiteMethod;
  token: string;
  state: SiteState;
  verified_at: Date | null;
  last_checked_at: Date | null;
  last_outcome: string | null;
  failing_since: Date | null;
  created_at: Date;
}

const COLUMNS = `installation_id, domain, method, token, state, verified_at, last_checked_at,
  last_outcome, failing_since, created_at`;

export async function findSite(
  tx: Queryable,
  installationId: number,
  domain: string,
  lock = false,
): Promise<SiteRow | undefined> {
  const [row] = await tx.query<SiteRow & Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM sites WHERE installation_id = $1 AND domain = $2${lock ? " FOR UPDATE" : ""}`,
    [installationId, domain],
  );
  return row;
}

export async function insertSite(
  tx: Queryable,
  site: Pick<SiteRow, "installation_id" | "domain" | "method" | "token" | "created_at">,
): Promise<SiteRow | undefined> {
  const [row] = await tx.query<SiteRow & Record<string, unknown>>(
    `INSERT INTO sites (installation_id, domain, method, token, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (installation_id, domain) DO NOTHING RETURNING ${COLUMNS}`,
    [site.installation_id, site.domain, site.method, site.token, site.created_at],
  );
  return row;
}

export async function setSiteMethod(
  tx: Queryable,
  installationId: number,
  domain: string,
  method: SiteMethod,
): Promise<void> {
  await tx.query("UPDATE sites SET method = $3 WHERE installation_id = $1 AND domain = $2", [
    installationId,
    domain,
    method,
  ]);
}

export async function recordCheck(
  tx: Queryable,
  site: Pick<SiteRow, "installation_id" | "domain" | "state" | "verified_at" | "failing_since" | "last_outcome">,
  checkedAt: Date,
): Promise<void> {
  await tx.query(
    `UPDATE sites SET state = $3, verified_at = $4, failing_since = $5, last_outcome = $6, last_checked_at = $7
      WHERE installation_id = $1 AND domain = $2`,
    [site.installation_id, site.domain, site.state, site.verified_at, site.failing_since, site.last_outcome, checkedAt],
  );
}

/**
 * Claim a verified or failing site for re-checking: bump its last check so no
 * other process picks it up. A concurrent claim waits on the row lock, then
 * sees the bumped time and claims nothing.
 */
export async function claimDueSite(
  tx: Queryable,
  installationId: number,
  domain: string,
  dueBefore: Date,
  now: Date,
): Promise<SiteRow | undefined> {
  const [row] = await tx.query<SiteRow & Record<string, unknown>>(
    `UPDATE sites SET last_checked_at = $4
      WHERE installation_id = $1 AND domain = $2 AND state IN ('verified', 'failing')
        AND (last_checked_at IS NULL OR last_checked_at <= $3)
      RETURNING ${COLUMNS}`,
    [installationId, domain, dueBefore, now],
  );
  return row;
}

/** Rows of one installation (tenant transaction) or of all (owner transaction, cross-installation listing). */
export async function selectSites(tx: Queryable, installationId?: number): Promise<SiteRow[]> {
  if (installationId !== undefined) {
    return tx.query<SiteRow & Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM sites WHERE installation_id = $1 ORDER BY domain`,
      [installationId],
    );
  }
  await enableSiteListing(tx);
  return tx.query<SiteRow & Record<string, unknown>>(`SELECT ${COLUMNS} FROM sites ORDER BY installation_id, domain`);
}

export async function selectDueSites(
  tx: Queryable,
  dueBefore: Date,
  limit: number,
): Promise<{ installation_id: number; domain: string }[]> {
  await enableSiteListing(tx);
  return tx.query<{ installation_id: number; domain: string }>(
    `SELECT installation_id, domain FROM sites
      WHERE state IN ('verified', 'failing') AND (last_checked_at IS NULL OR last_checked_at <= $1)
      ORDER BY last_checked_at NULLS FIRST, installation_id, domain LIMIT $2`,
    [dueBefore, limit],
  );
}

/** Opt this owner transaction into the cross-installation listing policy of 020_sites.sql. */
async function enableSiteListing(tx: Queryable): Promise<void> {
  await tx.query("SELECT set_config('agent_gate.site_sweep', 'on', true)");
}
