import { APP_ROLE, TENANT_SETTING, type Queryable } from "./database.ts";

/** Enter the app role and the tenant for the rest of the current transaction only. */
export async function enterTenant(tx: Queryable, installationId: number): Promise<void> {
  if (!Number.isSafeInteger(installationId) || installationId < 0) {
    throw new RangeError("installation id must be a non-negative integer");
  }
  // set_config('role', …, true) is SET LOCAL ROLE; both settings in one round trip.
  await tx.query("SELECT set_config('role', $1, true), set_config($2, $3, true)", [APP_ROLE, TENANT_SETTING, String(installationId)]);
}

/**
 * The same as one parameterless statement, to send with BEGIN: the role and
 * setting names are constants and the id is checked to be an integer first.
 */
export function enterTenantSql(installationId: number): string {
  if (!Number.isSafeInteger(installationId) || installationId < 0) {
    throw new RangeError("installation id must be a non-negative integer");
  }
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('${TENANT_SETTING}', '${installationId}', true)`;
}
