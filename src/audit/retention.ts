import type { Database } from "../db/database.ts";
import { ValidationError } from "../errors.ts";
import { appendAudit } from "./log.ts";

export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

/** AGENT_GATE_RETENTION_DAYS, a whole number of days of at least 1; default 90. */
export function retentionDays(env: NodeJS.ProcessEnv): number {
  const raw = env.AGENT_GATE_RETENTION_DAYS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_RETENTION_DAYS;
  const days = Number(raw);
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new ValidationError([{ field: "AGENT_GATE_RETENTION_DAYS", message: "must be a whole number of days, at least 1" }]);
  }
  return days;
}

export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export interface PruneResult {
  pruned_count: number;
  last_pruned_seq: number | null;
  last_pruned_hash: string | null;
}

/**
 * Delete an installation's events older than `before` through the database's
 * one pruning function, and append an `audit.pruned` checkpoint carrying the
 * hash of the last event deleted, in the same tenant transaction: what remains
 * still verifies. Nothing is appended when nothing was old enough.
 */
export async function pruneAudit(db: Database, installationId: number, before: Date, now: Date): Promise<PruneResult> {
  if (before.getTime() > now.getTime()) {
    throw new ValidationError([{ field: "before", message: "must not be in the future" }]);
  }
  return db.tenant(installationId, async (tx) => {
    const [row] = await tx.query<{ pruned_count: number; last_pruned_seq: number | null; last_pruned_hash: string | null }>(
      "SELECT pruned_count, last_pruned_seq, last_pruned_hash FROM agent_gate_prune_audit($1, $2)",
      [installationId, before.toISOString()],
    );
    const result: PruneResult = {
      pruned_count: row?.pruned_count ?? 0,
      last_pruned_seq: row?.last_pruned_seq ?? null,
      last_pruned_hash: row?.last_pruned_hash ?? null,
    };
    if (result.pruned_count > 0) {
      await appendAudit(
        tx,
        installationId,
        { action: "audit.pruned", outcome: "ok", data: { ...result, before: before.toISOString() } },
        now,
      );
    }
    return result;
  });
}
