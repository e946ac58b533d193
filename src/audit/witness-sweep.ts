import type { Database, Queryable } from "../db/database.ts";
import { latestCheckpoint } from "./checkpoint.ts";
import { appendAudit } from "./log.ts";
import { proveConsistency } from "./prove.ts";
import { sendCheckpoint, type SendResult } from "./witness-send.ts";
import {
  claimWitnessSends,
  recordCosigned,
  recordRefused,
  recordSendFailed,
  recordWitnessSize,
  type Witness,
  type WitnessKind,
} from "./witness-store.ts";

const CLAIM_MS = 60_000;
const BACKOFF_MS = [5_000, 15_000, 60_000, 300_000, 900_000];

/** Each send's outcome: cosigned (or committed, to a repository witness), conflict, refused, failed. */
export type WitnessOutcome = SendResult["kind"] | "committed";

export interface WitnessSweepDeps {
  db: Database;
  fetch: typeof fetch;
  now: () => Date;
  /** counts each send's outcome */
  count?: (outcome: WitnessOutcome) => void;
}

/** Claim the witnesses of one kind that are due, for as long as one send may take. */
export function claimDueWitnesses(db: Database, now: Date, limit: number, kind: WitnessKind): Promise<Witness[]> {
  return claimWitnessSends(db, now, new Date(now.getTime() + CLAIM_MS), limit, kind);
}

/** A send that failed (the witness down, an unexpected answer) is tried again after a growing delay. */
export async function recordWitnessRetry(tx: Queryable, w: Witness, reason: string, at: Date): Promise<void> {
  const delay = BACKOFF_MS[Math.min(w.attempts, BACKOFF_MS.length - 1)]!;
  await recordSendFailed(tx, w.installation_id, w.name, reason, new Date(at.getTime() + delay));
}

/**
 * The witness refused the checkpoint of `size` as inconsistent with what it
 * holds: an alert (the witness.refused event, the metric, a doctor failure),
 * and nothing more is sent to it.
 */
export async function recordWitnessRefusal(
  tx: Queryable,
  w: Witness,
  size: number,
  reason: string,
  at: Date,
): Promise<void> {
  const id = w.installation_id;
  await recordRefused(tx, id, w.name, reason, at);
  const where = w.repository === null ? { url: w.url } : { repository: w.repository, branch: w.branch };
  await appendAudit(
    tx,
    id,
    {
      action: "witness.refused",
      outcome: "refused",
      data: { witness: w.name, ...where, tree_size: size, witnessed_size: w.witnessed_size, reason },
    },
    at,
  );
}

/**
 * Send every witness that is behind the latest checkpoint of its
 * installation, with a consistency proof from the size it holds. A witness
 * that is down is tried again with backoff and then sent the latest
 * checkpoint, so it loses none; one that refuses is an alert (witness.refused).
 */
export async function witnessDue(deps: WitnessSweepDeps, limit = 50): Promise<SendResult["kind"][]> {
  const now = deps.now();
  const claimed = await claimDueWitnesses(deps.db, now, limit, "url");
  const outcomes: SendResult["kind"][] = [];
  for (const w of claimed) {
    const outcome = await sendOne(deps, w);
    deps.count?.(outcome);
    outcomes.push(outcome);
  }
  return outcomes;
}

async function sendOne(deps: WitnessSweepDeps, w: Witness): Promise<SendResult["kind"]> {
  const id = w.installation_id;
  const prepared = await deps.db
    .tenant(id, async (tx) => {
      const checkpoint = await latestCheckpoint(tx, id);
      if (!checkpoint) return null;
      if (checkpoint.size < w.witnessed_size) return { checkpoint, proof: null };
      const proof = await proveConsistency(tx, id, w.witnessed_size, checkpoint.size);
      return { checkpoint, proof: proof.consistency_path.map((p) => Buffer.from(p, "base64")) };
    })
    .catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }));
  let result: SendResult;
  let size = 0;
  if (prepared === null) return "failed";
  if (w.url === null || w.vkey === null) {
    result = { kind: "failed", reason: "not a tlog-witness (no URL and key)" };
  } else if ("error" in prepared) {
    result = { kind: "failed", reason: `no consistency proof from size ${w.witnessed_size}: ${prepared.error}` };
  } else if (prepared.proof === null) {
    size = prepared.checkpoint.size;
    result = {
      kind: "refused",
      reason: `the latest checkpoint (size ${size}) is smaller than the tree the witness holds (size ${w.witnessed_size}): the log was cut`,
    };
  } else {
    size = prepared.checkpoint.size;
    result = await sendCheckpoint(
      deps.fetch,
      { name: w.name, url: w.url, vkey: w.vkey },
      w.witnessed_size,
      prepared.proof,
      prepared.checkpoint.note,
      size,
    );
  }
  const at = deps.now();
  await deps.db.tenant(id, async (tx) => {
    if (result.kind === "cosigned") await recordCosigned(tx, id, w.name, size, result.signatures, at);
    else if (result.kind === "conflict") await recordWitnessSize(tx, id, w.name, result.size);
    else if (result.kind === "failed") await recordWitnessRetry(tx, w, result.reason, at);
    else await recordWitnessRefusal(tx, w, size, result.reason, at);
  });
  return result.kind;
}
