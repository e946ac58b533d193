import type { Queryable } from "../db/database.ts";

/** Workers LISTEN here; a queued write is announced at its transaction's commit. */
export const OUTBOX_CHANNEL = "agent_gate_outbox";

export interface OutboxJob {
  installationId: number;
  operation: string;
  coalesceKey: string | null;
  /** 0 = decisions (sent first), 1 = progress text */
  priority: 0 | 1;
  payload: Record<string, unknown>;
}

/** Queue a GitHub write in the caller's transaction; workers are woken on commit. */
export async function enqueue(tx: Queryable, job: OutboxJob): Promise<void> {
  // Queued and announced (delivered to listeners at commit) in one round trip.
  await tx.query(
    `WITH queued AS (
       INSERT INTO outbox (installation_id, operation, coalesce_key, priority, payload) VALUES ($1, $2, $3, $4, $5)
       RETURNING installation_id)
     SELECT pg_notify($6, installation_id::text) FROM queued`,
    [job.installationId, job.operation, job.coalesceKey, job.priority, JSON.stringify(job.payload), OUTBOX_CHANNEL],
  );
}
