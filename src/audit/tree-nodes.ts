import type { Queryable } from "../db/database.ts";
import { nodesRead, type NodeLookup } from "./merkle-proof.ts";

/**
 * Run a computation over the installation's stored subtrees: the nodes it
 * reads are found first, fetched in one indexed query, then it runs for real.
 * A node that is not stored fails it (the tree is incomplete or was cut).
 */
export async function withNodes<T>(
  tx: Queryable,
  installationId: number,
  compute: (node: NodeLookup) => T,
): Promise<T> {
  const wanted = nodesRead(compute);
  const rows = await tx.query<{ level: number; idx: number | string; hash: Uint8Array }>(
    `SELECT n.level, n.idx, n.hash FROM audit_tree_nodes n
       JOIN jsonb_to_recordset($2::jsonb) AS w(level smallint, idx bigint) ON n.level = w.level AND n.idx = w.idx
      WHERE n.installation_id = $1`,
    [installationId, JSON.stringify(wanted.map((w) => ({ level: w.level, idx: w.index })))],
  );
  const found = new Map(rows.map((row) => [`${row.level}/${Number(row.idx)}`, Buffer.from(row.hash)]));
  return compute((level, index) => {
    const hash = found.get(`${level}/${index}`);
    if (!hash) throw new Error(`the audit tree has no stored node at level ${level}, index ${index}`);
    return hash;
  });
}
