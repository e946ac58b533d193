import type { Database } from "../db/database.ts";
import { checkpointOrigin, latestCheckpoint, parseCheckpointBody, type StoredCheckpoint } from "./checkpoint.ts";
import { verifyConsistency } from "./merkle-verify.ts";
import { proveConsistency } from "./prove.ts";
import { recordCommitted, type Witness } from "./witness-store.ts";
import { recordWitnessRefusal, recordWitnessRetry } from "./witness-sweep.ts";

/**
 * A repository witness: each checkpoint of an installation's log is committed
 * as one file on a branch of a repository the admin names, so that GitHub's
 * own history holds the sequence. The GitHub calls are the outbox's
 * (src/outbox/witness-commit.ts); what may be written, and what is recorded,
 * is decided here.
 */

/** The file on the branch: C2SP's `<prefix>/checkpoint`, under the log's origin. */
export function witnessFilePath(installationId: number): string {
  return `${checkpointOrigin(installationId)}/checkpoint`;
}

/** What the branch holds now: the checkpoint file's text, or null when there is none. */
export type HeldCheck =
  /** the latest checkpoint extends the branch's (or the branch holds none yet): write it */
  | { kind: "write"; checkpoint: StoredCheckpoint }
  /** the branch already holds the latest checkpoint */
  | { kind: "held"; checkpoint: StoredCheckpoint }
  | { kind: "refused"; size: number; reason: string }
  | { kind: "failed"; reason: string };

/**
 * Before anything is written: the latest checkpoint may replace the one on the
 * branch only if it extends it (an RFC 9162 consistency proof from the
 * branch's size and root to the latest, checked here). A smaller checkpoint,
 * another root at the same size, a proof that fails, a file that is not this
 * log's checkpoint, or a file gone after one was committed is refused: the
 * branch is never overwritten with a log that was cut or rewritten.
 */
export async function checkAgainstHeld(db: Database, w: Witness, held: string | null): Promise<HeldCheck> {
  const id = w.installation_id;
  return db.tenant(id, async (tx) => {
    const latest = await latestCheckpoint(tx, id);
    if (!latest) return { kind: "failed", reason: "no checkpoint is signed yet" };
    if (held === null) {
      if (w.witnessed_commit === null) return { kind: "write", checkpoint: latest };
      return {
        kind: "refused",
        size: latest.size,
        reason: `the checkpoint file committed earlier (commit ${w.witnessed_commit}) is gone from the branch`,
      };
    }
    const split = held.indexOf("\n\n");
    const kept = parseCheckpointBody(split < 0 ? held : held.slice(0, split + 1));
    if (!kept || kept.installationId !== id)
      return { kind: "refused", size: latest.size, reason: "the file on the branch is not a checkpoint of this log" };
    if (kept.size > latest.size)
      return {
        kind: "refused",
        size: latest.size,
        reason: `the latest checkpoint (size ${latest.size}) is smaller than the one on the branch (size ${kept.size}): the log was cut`,
      };
    let path: Buffer[];
    try {
      const proof = await proveConsistency(tx, id, kept.size, latest.size);
      path = proof.consistency_path.map((p) => Buffer.from(p, "base64"));
    } catch (error) {
      return { kind: "failed", reason: `no consistency proof from size ${kept.size}: ${messageOf(error)}` };
    }
    if (
      !verifyConsistency(kept.size, latest.size, Buffer.from(kept.root, "hex"), Buffer.from(latest.root, "hex"), path)
    )
      return {
        kind: "refused",
        size: latest.size,
        reason: `the latest checkpoint (size ${latest.size}) does not extend the one on the branch (size ${kept.size}): the log was rewritten`,
      };
    return { kind: kept.size === latest.size ? "held" : "write", checkpoint: latest };
  });
}

/** What one commit to a repository witness came to. */
export type CommitResult =
  | { kind: "committed"; size: number; commit: string | null }
  | { kind: "refused"; size: number; reason: string }
  | { kind: "failed"; reason: string };

/** Record the outcome: the size and commit the branch holds, a retry with backoff, or the refusal's alert. */
export async function recordCommitResult(db: Database, w: Witness, result: CommitResult, at: Date): Promise<void> {
  const id = w.installation_id;
  await db.tenant(id, async (tx) => {
    if (result.kind === "committed") await recordCommitted(tx, id, w.name, result.size, result.commit);
    else if (result.kind === "failed") await recordWitnessRetry(tx, w, result.reason, at);
    else await recordWitnessRefusal(tx, w, result.size, result.reason, at);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
