import type { Database, Queryable } from "../db/database.ts";
import { open, seal, sealedKeyId, type Keyring } from "../crypto/keyring.ts";
import { GateError } from "../errors.ts";

/** A column holding sealed values; `reencryptSealed` re-seals every one. */
export interface SealedColumn {
  table: string;
  idColumn: string;
  /** The column naming the row's installation, or null for installation-independent rows (sealed with 0). */
  installationColumn: string | null;
  column: string;
  purpose: string;
}

/** Every sealed column in the schema. Add a table holding sealed values here. */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: "signing_keys", idColumn: "kid", installationColumn: null, column: "sealed_secret", purpose: "signing_key" },
  {
    table: "proposals_outreach",
    idColumn: "proposal_id",
    installationColumn: "installation_id",
    column: "sealed",
    purpose: "outreach",
  },
  {
    table: "review_sessions",
    idColumn: "id_hash",
    installationColumn: null,
    column: "sealed_token",
    purpose: "review_session",
  },
];

/**
 * Identifiers come only from SEALED_COLUMNS, never from input; each is checked
 * and quoted all the same, since they are spliced into the statement.
 */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}

/**
 * The owner reads every installation's rows at once, which row level security
 * forbids on a FORCE table unless the role bypasses it. Refuse rather than
 * re-seal none of those rows in silence.
 */
async function assertOwnerSeesAll(tx: Queryable, entry: SealedColumn): Promise<void> {
  const [row] = await tx.query<{ forced: boolean; bypasses: boolean }>(
    `SELECT c.relforcerowsecurity AS forced, r.rolsuper OR r.rolbypassrls AS bypasses
       FROM pg_class c, pg_roles r
      WHERE c.oid = to_regclass($1) AND r.rolname = current_user`,
    [entry.table],
  );
  if (row?.forced && !row.bypasses) {
    throw new GateError(
      "reencrypt_blocked",
      `${entry.table} forces row level security, so this role cannot re-seal its rows; run \`agent-gate keys rotate\` as the table owner with BYPASSRLS.`,
    );
  }
}

async function reencryptColumn(tx: Queryable, keyring: Keyring, entry: SealedColumn): Promise<number> {
  await assertOwnerSeesAll(tx, entry);
  const installation = entry.installationColumn ? `${ident(entry.installationColumn)}::int8` : "0::int8";
  const rows = await tx.query<{ id: string; installation_id: number; sealed: string }>(
    `SELECT ${ident(entry.idColumn)}::text AS id, ${installation} AS installation_id, ${ident(entry.column)} AS sealed
       FROM ${ident(entry.table)} WHERE ${ident(entry.column)} IS NOT NULL FOR UPDATE`,
  );
  let count = 0;
  for (const row of rows) {
    if (sealedKeyId(row.sealed) === keyring.current.id) continue;
    const binding = { purpose: entry.purpose, rowId: row.id, installationId: row.installation_id };
    const resealed = seal(keyring, binding, open(keyring, binding, row.sealed));
    await tx.query(
      `UPDATE ${ident(entry.table)} SET ${ident(entry.column)} = $1 WHERE ${ident(entry.idColumn)}::text = $2`,
      [resealed, row.id],
    );
    count += 1;
  }
  return count;
}

/**
 * Re-seal every sealed value under the keyring's current key, in one owner
 * transaction: either all move or none do. Returns how many were re-sealed;
 * values already under the current key are left as they are.
 */
export async function reencryptSealed(
  db: Database,
  keyring: Keyring,
  columns: readonly SealedColumn[] = SEALED_COLUMNS,
): Promise<number> {
  return db.transaction(async (tx) => {
    let total = 0;
    for (const entry of columns) total += await reencryptColumn(tx, keyring, entry);
    return total;
  });
}
