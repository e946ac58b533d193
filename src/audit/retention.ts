import type { Database } from "../db/database.ts";
import { ValidationError } from "../errors.ts";
import { appendAudit } from "./log.ts";

const DAY_MS = 86_400_000;

export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export interface PruneResult {
  pruned_count: number;
  last_pruned_seq: number | null;
  last_pruned_hash: string | null;
}

/**
 * Set the retention period the database enforces as the pruning floor. Only
 * the owner can (outside any tenant transaction); the app role may read it.
 */
export async function mayAlterRetentionFloor(db: Database): Promise<boolean> {
  const [row] = await db.query<{ may: boolean }>(
    "SELECT has_table_privilege('audit_retention_policy', 'UPDATE') AS may",
  );
  return row?.may === true;
}

export async function setRetentionFloor(db: Database, days: number): Promise<void> {
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new ValidationError([
      { field: "AGENT_GATE_RETENTION_DAYS", message: "must be a whole number of days, at least 1" },
    ]);
  }
  await db.query("UPDATE audit_retention_policy SET min_days = $1", [days]);
}

/**
 * Delete an installation's events older than `before` through the database's
 * one pruning function. The `audit.pruned` checkpoint, carrying the count and
 * the seq and hash of the last event to delete, is appended first, in the
 * same tenant transaction: the function refuses to delete unless the chain's
 * last event is exactly that checkpoint, and refuses a cutoff newer than the
 * retention floor, so what remains still verifies and always accounts for
 * what is gone. Nothing is appended when nothing is old enough.
 */
export async function pruneAudit(db: Database, installationId: number, before: Date, now: Date): Promise<PruneResult> {
  try {
    if (Number.isNaN(before.getTime()) || before.getTime() > now.getTime()) {
      throw new ValidationError([{ field: "before", message: "must be a time, not in the future" }]);
    }
    return await prunePrefix(db, installationId, before, now);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // The prune rolled back; the refusal is recorded on its own.
    await db.tenant(installationId, (tx) =>
      appendAudit(
        tx,
        installationId,
        {
          action: "audit.prune_refused",
          outcome: "refused",
          data: { before: Number.isNaN(before.getTime()) ? null : before.toISOString(), reason: error.message },
        },
        now,
      ),
    );
    throw error;
  }
}

async function prunePrefix(db: Database, installationId: number, before: Date, now: Date): Promise<PruneResult> {
  return db.tenant(installationId, async (tx) => {
    const [plan] = await tx.query<{
      pruned_count: number;
      last_pruned_seq: number | null;
      last_pruned_hash: string | null;
    }>("SELECT pruned_count, last_pruned_seq, last_pruned_hash FROM agent_gate_prune_plan($1, $2)", [
      installationId,
      before.toISOString(),
    ]);
    const result: PruneResult = {
      pruned_count: Number(plan?.pruned_count ?? 0),
      last_pruned_seq: plan?.last_pruned_seq == null ? null : Number(plan.last_pruned_seq),
      last_pruned_hash: plan?.last_pruned_hash ?? null,
    };
    if (result.pruned_count === 0) return result;
    await appendAudit(
      tx,
      installationId,
      { action: "audit.pruned", outcome: "ok", data: { ...result, before: before.toISOString() } },
      now,
    );
    try {
      await tx.query("SELECT pruned_count FROM agent_gate_prune_audit($1, $2)", [installationId, before.toISOString()]);
    } catch (error) {
      const message = error instanceof Error ? error.message : "";
      if (message.includes("agent_gate_prune_audit:")) {
        throw new ValidationError([{ field: "before", message: message.replace(/^.*agent_gate_prune_audit: /, "") }]);
      }
      throw error;
    }
    return result;
  });
}
