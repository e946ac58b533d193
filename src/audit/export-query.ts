import type { Queryable } from "../db/database.ts";
import type { ExportFilters } from "./filters.ts";

/**
 * The rows of one export batch: keyset pagination by seq inside the tenant's
 * own transaction, every filter a bound parameter.
 */
const WHERE = `installation_id = $1 AND seq > $2 AND seq <= $3
   AND ($4::timestamptz IS NULL OR created_at >= $4::timestamptz)
   AND ($5::timestamptz IS NULL OR created_at < $5::timestamptz)
   AND ($6::text IS NULL OR repo = $6::text)
   AND ($7::text IS NULL OR action = $7::text)`;

/** Each event as one JSON line built by PostgreSQL, created_at exactly as it was hashed. */
const JSONL_SQL = `SELECT seq, prev_hash, hash, json_build_object(
    'installation_id', installation_id, 'seq', seq,
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'action', action, 'actor', actor, 'actor_is_bot', actor_is_bot, 'actor_is_agent', actor_is_agent,
    'repo', repo, 'subject', subject, 'outcome', outcome, 'data', data,
    'prev_hash', prev_hash, 'hash', hash)::text AS line
  FROM audit_events WHERE ${WHERE} ORDER BY seq LIMIT $8`;

const ROWS_SQL = `SELECT installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo,
    subject, outcome, data, prev_hash, hash
  FROM audit_events WHERE ${WHERE} ORDER BY seq LIMIT $8`;

export interface SeqRange {
  /** exclusive */
  after: number;
  /** inclusive */
  through: number;
}

/** The filters a batch query applies: a contiguous export keeps only its seq range. */
export interface BatchFilters {
  since: string | null;
  until: string | null;
  repo: string | null;
  action: string | null;
}

export function batchParams(installationId: number, after: number, through: number, f: BatchFilters, limit: number) {
  return [installationId, after, through, f.since, f.until, f.repo, f.action, limit];
}

export function jsonlBatch(tx: Queryable, params: unknown[]) {
  return tx.query<{ seq: number; prev_hash: string; hash: string; line: string }>(JSONL_SQL, params);
}

export function rowsBatch(tx: Queryable, params: unknown[]) {
  return tx.query<Parameters<typeof import("./log.ts").toAuditEvent>[0] & Record<string, unknown>>(ROWS_SQL, params);
}

/**
 * The seq range an export covers. The upper bound is the chain head when the
 * export starts, so later appends never change it. For a contiguous export,
 * since and until pick the first event at or after `since` and the last event
 * before `until` (by time), and everything between them is exported.
 */
export async function exportRange(
  tx: Queryable,
  installationId: number,
  filters: ExportFilters,
  contiguous: boolean,
  throughSeq?: number,
): Promise<SeqRange> {
  const [head] = await tx.query<{ seq: number }>("SELECT seq FROM audit_heads WHERE installation_id = $1", [
    installationId,
  ]);
  let through = Math.min(head?.seq ?? 0, throughSeq ?? Number.MAX_SAFE_INTEGER);
  let after = 0;
  if (!contiguous) return { after, through };
  if (filters.since) {
    const [first] = await tx.query<{ seq: number }>(
      `SELECT seq FROM audit_events WHERE installation_id = $1 AND created_at >= $2
        ORDER BY created_at, seq LIMIT 1`,
      [installationId, filters.since],
    );
    after = first ? first.seq - 1 : through;
  }
  if (filters.until) {
    const [last] = await tx.query<{ seq: number }>(
      `SELECT seq FROM audit_events WHERE installation_id = $1 AND created_at < $2
        ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [installationId, filters.until],
    );
    through = last ? Math.min(through, last.seq) : after;
  }
  return { after, through: Math.max(after, through) };
}
