import { tokenState, type TokenRow } from "./store.ts";

/**
 * A token as its holder and its admins see it: prefix, name, scope, state and
 * expiry; never the token or its hash. The HTTP API's rotate answer and the
 * CLI's token commands show the same fields.
 */
export function tokenView(row: TokenRow, now: Date): Record<string, unknown> {
  return {
    prefix: row.prefix,
    name: row.name,
    installation_id: row.installation_id,
    repos: row.repos,
    kinds: row.kinds,
    admin: row.admin,
    state: tokenState(row, now),
    expires_at: row.expires_at?.toISOString() ?? null,
  };
}

/** The view with its history, as the CLI's token list prints it: when and by whom created, when revoked. */
export function tokenRecordView(row: TokenRow, now: Date): Record<string, unknown> {
  return {
    ...tokenView(row, now),
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_by: row.created_by,
  };
}
