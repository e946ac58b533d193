import type { Queryable } from "../db/database.ts";
import { NotFoundError } from "../errors.ts";
import type { StoredCheckpoint } from "./checkpoint.ts";
import { currentTree } from "./checkpoint-store.ts";
import { consistencyPath, inclusionPath } from "./merkle-proof.ts";
import { withNodes } from "./tree-nodes.ts";

/**
 * An inclusion proof of one audit event in a signed checkpoint; documented in
 * docs/audit.md. Verifiable offline with the checkpoint's key: the leaf is
 * SHA-256(0x00 || the event's 32-byte chain hash).
 */
export interface InclusionProof {
  v: 1;
  installation_id: number;
  event_hash: string;
  seq: number;
  leaf_index: number;
  tree_size: number;
  /** RFC 9162 inclusion path, base64 hashes, leaf to root */
  inclusion_path: string[];
  /** the signed checkpoint (C2SP note) the path leads to */
  checkpoint: string;
}

export interface ConsistencyProof {
  v: 1;
  installation_id: number;
  from_size: number;
  to_size: number;
  consistency_path: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The event with this chain hash, and where it sits in the tree. */
export async function eventPosition(
  tx: Queryable,
  installationId: number,
  eventHash: string,
): Promise<{ seq: number; leafIndex: number }> {
  const hash = eventHash.toLowerCase();
  if (!HEX64.test(hash)) throw new NotFoundError(`Audit event ${eventHash.slice(0, 80)}`);
  const [row] = await tx.query<{ seq: number | string }>(
    "SELECT seq FROM audit_events WHERE installation_id = $1 AND hash = $2",
    [installationId, hash],
  );
  if (!row) throw new NotFoundError(`Audit event ${hash}`);
  const tree = await currentTree(tx, installationId);
  const seq = Number(row.seq);
  if (seq < tree.firstSeq) throw new NotFoundError(`Audit event ${hash} in the audit tree (it predates the tree)`);
  return { seq, leafIndex: seq - tree.firstSeq };
}

/** Prove an event is in the tree of `checkpoint`, which must already include it. */
export async function proveInclusion(
  tx: Queryable,
  installationId: number,
  eventHash: string,
  checkpoint: StoredCheckpoint,
): Promise<InclusionProof> {
  const { seq, leafIndex } = await eventPosition(tx, installationId, eventHash);
  if (leafIndex >= checkpoint.size)
    throw new Error(`the checkpoint of size ${checkpoint.size} does not include leaf ${leafIndex} yet`);
  const path = await withNodes(tx, installationId, (node) => inclusionPath(node, leafIndex, checkpoint.size));
  return {
    v: 1,
    installation_id: installationId,
    event_hash: eventHash.toLowerCase(),
    seq,
    leaf_index: leafIndex,
    tree_size: checkpoint.size,
    inclusion_path: path.map((p) => p.toString("base64")),
    checkpoint: checkpoint.note,
  };
}

/** Prove the tree of size `to` extends the tree of size `from`. */
export async function proveConsistency(
  tx: Queryable,
  installationId: number,
  from: number,
  to: number,
): Promise<ConsistencyProof> {
  const path = await withNodes(tx, installationId, (node) => consistencyPath(node, from, to));
  return {
    v: 1,
    installation_id: installationId,
    from_size: from,
    to_size: to,
    consistency_path: path.map((p) => p.toString("base64")),
  };
}
