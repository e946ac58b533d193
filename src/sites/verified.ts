import type { Queryable } from "../db/database.ts";
import { GateError, ValidationError } from "../errors.ts";
import { normalizeDomain } from "./domain.ts";
import { siteStanding, type SiteState } from "./policy.ts";

function notVerified(message: string, cause?: unknown): GateError {
  return new GateError("site_not_verified", message, { status: 422, cause });
}

/**
 * Refuse a proposal naming `domain` unless the site is verified for this
 * installation (another installation's verification does not count). Run it
 * inside the caller's transaction; the message says what the admin must do.
 */
export async function assertSiteVerified(
  tx: Queryable,
  installationId: number,
  domain: string,
  now: Date,
): Promise<void> {
  let name: string;
  try {
    name = normalizeDomain(domain, "site");
  } catch (error) {
    const why = error instanceof ValidationError ? error.message : "site: is not a valid domain name";
    throw notVerified(
      `${why}. Name a site verified with \`agent-gate site add DOMAIN --installation ${installationId}\` and \`agent-gate site verify DOMAIN --installation ${installationId}\`.`,
      error,
    );
  }
  const [site] = await tx.query<{ state: SiteState; verified_at: Date | null; failing_since: Date | null }>(
    "SELECT state, verified_at, failing_since FROM sites WHERE installation_id = $1 AND domain = $2",
    [installationId, name],
  );
  const add = `agent-gate site add ${name} --installation ${installationId}`;
  const verify = `agent-gate site verify ${name} --installation ${installationId}`;
  if (!site) {
    throw notVerified(
      `Site ${name} is not verified for installation ${installationId}. Run \`${add}\`, publish the challenge it prints, then run \`${verify}\`.`,
    );
  }
  const standing = siteStanding(site, now);
  if (standing === "pending") {
    throw notVerified(
      `Site ${name} is awaiting verification for installation ${installationId}. Publish the challenge shown by \`${add}\`, then run \`${verify}\`.`,
    );
  }
  if (standing === "lapsed") {
    throw notVerified(
      `Site ${name} has lapsed for installation ${installationId}: its verification has not been confirmed for 7 days. Restore the TXT record or file shown by \`${add}\`, then run \`${verify}\`.`,
    );
  }
}
