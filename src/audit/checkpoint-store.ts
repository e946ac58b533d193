import type { Database, Queryable } from "../db/database.ts";
import type { Signer } from "../crypto/signer.ts";
import { checkpointAt, signCheckpoint, type StoredCheckpoint } from "./checkpoint.ts";
import { claimDueCheckpoints, clearDueCheckpoint } from "./log.ts";
import { raiseWitnessTargets } from "./witness-store.ts";
import { readTree, treeRoot, type HeadRow } from "./tree-state.ts";

export interface CurrentTree {
  size: number;
  /** hex */
  root: string;
  /** seq of leaf 0 */
  firstSeq: number;
}

/** The installation's tree as its head holds it, inside its tenant transaction. */
export async function currentTree(tx: Queryable, installationId: number): Promise<CurrentTree> {
  const [head] = await tx.query<HeadRow & Record<string, unknown>>(
    "SELECT seq, hash, tree_first_seq, tree_size, tree_frontier FROM audit_heads WHERE installation_id = $1",
    [installationId],
  );
  if (!head) return { size: 0, root: treeRoot({ size: 0, frontier: [] }).toString("hex"), firstSeq: 1 };
  const tree = readTree(head);
  const firstSeq = head.tree_first_seq === null ? Number(head.seq) + 1 : Number(head.tree_first_seq);
  return { size: tree.size, root: treeRoot(tree).toString("hex"), firstSeq };
}

/**
 * A signed checkpoint of the installation's tree as it is now: the stored one
 * when this size was already signed, else a new one, stored. Ed25519 is
 * deterministic, so replicas signing the same size with the same key store
 * the same note.
 */
export async function checkpointNow(
  tx: Queryable,
  installationId: number,
  signer: Signer,
  now: Date,
): Promise<StoredCheckpoint> {
  const tree = await currentTree(tx, installationId);
  const stored = await checkpointAt(tx, installationId, tree.size);
  if (stored) {
    // Signed already (by `agent-gate audit checkpoint`, or another replica): nothing is due up to it.
    await clearDueCheckpoint(tx, installationId, tree.size);
    return stored;
  }
  const note = signCheckpoint({ installationId, size: tree.size, root: tree.root }, signer);
  await tx.query(
    `INSERT INTO audit_checkpoints (installation_id, tree_size, root_hash, note, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (installation_id, tree_size) DO NOTHING`,
    [installationId, tree.size, tree.root, note, now],
  );
  await clearDueCheckpoint(tx, installationId, tree.size);
  await raiseWitnessTargets(tx, installationId, tree.size);
  const written = await checkpointAt(tx, installationId, tree.size);
  if (!written) throw new Error("the checkpoint could not be stored");
  if (written.root !== tree.root)
    throw new Error("a stored checkpoint of this size has another root: the log was rewritten");
  return written;
}

const CLAIM_MS = 60_000;

/**
 * Sign a checkpoint for every installation whose tree grew since its last
 * one. Installations are claimed across replicas (SKIP LOCKED, with a claim
 * that lapses), so each is signed once per round; one that fails is retried
 * when its claim lapses. Returns the checkpoints written.
 */
export async function checkpointDue(
  db: Database,
  signer: () => Promise<Signer>,
  now: Date,
  limit = 100,
): Promise<StoredCheckpoint[]> {
  const due = await db.transaction((tx) => claimDueCheckpoints(tx, new Date(now.getTime() + CLAIM_MS), now, limit));
  if (due.length === 0) return [];
  const key = await signer();
  const written: StoredCheckpoint[] = [];
  const failed: unknown[] = [];
  for (const { installation_id } of due) {
    const id = Number(installation_id);
    try {
      written.push(await db.tenant(id, (tx) => checkpointNow(tx, id, key, now)));
    } catch (error) {
      // The others still get theirs; this one is retried when its claim lapses.
      failed.push(error);
    }
  }
  if (failed.length > 0) throw failed[0];
  return written;
}
