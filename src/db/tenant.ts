import { APP_ROLE, TENANT_SETTING, type Queryable } from "./database.ts";

/** Enter the app role and the tenant for the rest of the current transaction only. */
export async function enterTenant(tx: Queryable, installationId: number): Promise<void> {
  if (!Number.isSafeInteger(installationId) || installationId < 0) {
    throw new RangeError("installation id must be a non-negative integer");
  }
  await tx.query(`SET LOCAL ROLE ${APP_ROLE}`);
  await tx.query("SELECT set_config($1, $2, true)", [TENANT_SETTING, String(installationId)]);
}
