import type { Queryable } from "../db/database.ts";
import { currentTree } from "./checkpoint-store.ts";
import { frontierCover } from "./merkle.ts";
import { withNodes } from "./tree-nodes.ts";

/**
 * Where an export starting at `firstSeq` begins in the audit tree: the seq of
 * leaf 0 and the compact range of the leaves before the export's first event
 * (hex), so a verifier can rebuild the tree from the export alone.
 */
export async function treeStart(
  tx: Queryable,
  installationId: number,
  firstSeq: number | null,
): Promise<{ firstSeq: number; frontier: string[] }> {
  const tree = await currentTree(tx, installationId);
  const before = firstSeq === null ? 0 : Math.max(0, firstSeq - tree.firstSeq);
  if (before === 0) return { firstSeq: tree.firstSeq, frontier: [] };
  const nodes = await withNodes(tx, installationId, (node) => frontierCover(before).map((c) => node(c.level, c.index)));
  return { firstSeq: tree.firstSeq, frontier: nodes.map((n) => n.toString("hex")) };
}
