import type { Database } from "../db/database.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { SEALED_COLUMNS, type SealedColumn } from "./reencrypt.ts";

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}

/** The key id of every sealed value (`v1.<kid>.<box>`), distinct, from one column. */
function kidsSql(entry: SealedColumn): string {
  return `SELECT DISTINCT split_part(${ident(entry.column)}, '.', 2) AS kid FROM ${ident(entry.table)} WHERE ${ident(entry.column)} IS NOT NULL`;
}

/**
 * Every keyring key id some stored value is sealed under (stored signing
 * keys, outreach text, review sessions: SEALED_COLUMNS). Tables of one
 * installation's rows are read per installation as the app role, since row
 * level security hides them from a role that does not bypass it.
 */
export async function keyIdsInUse(db: Database): Promise<Set<string>> {
  const kids = new Set<string>();
  const installations = await db.query<{ id: number }>("SELECT id FROM installations");
  for (const entry of SEALED_COLUMNS) {
    if (entry.installationColumn === null) {
      for (const row of await db.query<{ kid: string }>(kidsSql(entry))) kids.add(row.kid);
      continue;
    }
    for (const { id } of installations) {
      for (const row of await db.tenant(id, (tx) => tx.query<{ kid: string }>(kidsSql(entry)))) kids.add(row.kid);
    }
  }
  return kids;
}

/** Key ids in use that the keyring does not hold, sorted: values this process could not open. */
export async function missingKeyIds(db: Database, keyring: Keyring): Promise<string[]> {
  return [...(await keyIdsInUse(db))].filter((kid) => !keyring.keys.has(kid)).sort();
}
