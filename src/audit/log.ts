import type { Queryable } from "../db/database.ts";
import { GENESIS_HASH, chainHash, eventBody, type AuditEvent, type AuditEventBody } from "./chain.ts";
import { decisionLine, logDecision } from "./decision-log.ts";

export interface AuditInput {
  action: string;
  outcome: string;
  actor?: string | null;
  actorIsBot?: boolean;
  actorIsAgent?: boolean;
  repo?: string | null;
  subject?: string | null;
  /** Digests, counts and identifiers only: never a secret, a token or outreach text. */
  data?: Record<string, unknown>;
}

/**
 * Append one event to the installation's chain, inside the caller's tenant
 * transaction. The head row is locked for the rest of the transaction, so
 * concurrent writers queue behind each other and the chain cannot fork.
 */
export async function appendAudit(
  tx: Queryable,
  installationId: number,
  input: AuditInput,
  now: Date,
): Promise<AuditEvent> {
  const [event] = await appendAudits(tx, installationId, [input], now);
  return event!;
}

/**
 * Append several events in order, in two round trips: lock and read the head
 * (creating it at genesis), then insert the events and move the head in one
 * statement. Appending a transaction's events together at its end keeps the
 * head locked for the shortest time.
 */
export async function appendAudits(
  tx: Queryable,
  installationId: number,
  inputs: readonly AuditInput[],
  now: Date,
): Promise<AuditEvent[]> {
  if (inputs.length === 0) return [];
  // An upsert that changes nothing still locks the row, like SELECT ... FOR UPDATE.
  const [head] = await tx.query<{ seq: number; hash: string }>(
    `INSERT INTO audit_heads (installation_id, seq, hash) VALUES ($1, 0, $2)
     ON CONFLICT (installation_id) DO UPDATE SET seq = audit_heads.seq
     RETURNING seq, hash`,
    [installationId, GENESIS_HASH],
  );
  if (!head) throw new Error("audit head could not be read for this installation");
  const events: AuditEvent[] = [];
  let prev = head;
  for (const input of inputs) {
    const body: AuditEventBody = eventBody({
      installation_id: installationId,
      seq: prev.seq + 1,
      created_at: new Date(Math.floor(now.getTime())).toISOString(),
      action: input.action,
      actor: input.actor ?? null,
      actor_is_bot: input.actorIsBot ?? false,
      actor_is_agent: input.actorIsAgent ?? false,
      repo: input.repo ?? null,
      subject: input.subject ?? null,
      outcome: input.outcome,
      data: JSON.parse(JSON.stringify(input.data ?? {})) as Record<string, unknown>,
    });
    const hash = chainHash(prev.hash, body);
    events.push({ ...body, prev_hash: prev.hash, hash });
    prev = { seq: body.seq, hash };
  }
  const last = events[events.length - 1]!;
  // One row per event, passed as a JSON array and taken apart by PostgreSQL.
  const inserted = await tx.query(
    `WITH moved AS (
       UPDATE audit_heads SET seq = $2, hash = $3 WHERE installation_id = $1 RETURNING installation_id
     )
     INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot,
       actor_is_agent, repo, subject, outcome, data, prev_hash, hash)
     SELECT e.installation_id, e.seq, e.created_at, e.action, e.actor, e.actor_is_bot,
            e.actor_is_agent, e.repo, e.subject, e.outcome, e.data, e.prev_hash, e.hash
       FROM jsonb_to_recordset($4::jsonb) AS e(installation_id bigint, seq bigint, created_at timestamptz,
            action text, actor text, actor_is_bot boolean, actor_is_agent boolean, repo text,
            subject text, outcome text, data jsonb, prev_hash text, hash text)
      WHERE EXISTS (SELECT 1 FROM moved)
      ORDER BY e.seq
     RETURNING seq`,
    [installationId, last.seq, last.hash, JSON.stringify(events)],
  );
  if (inserted.length !== events.length) throw new Error("audit events could not be appended to this installation's chain");
  for (const input of inputs) {
    const line = decisionLine(installationId, input);
    if (line) logDecision(line);
  }
  return events;
}

interface StoredEventRow {
  installation_id: number;
  seq: number;
  created_at: Date;
  action: string;
  actor: string | null;
  actor_is_bot: boolean;
  actor_is_agent: boolean;
  repo: string | null;
  subject: string | null;
  outcome: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export function toAuditEvent(row: StoredEventRow): AuditEvent {
  return {
    ...eventBody({ ...row, created_at: row.created_at.toISOString() }),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** Events of the current tenant in chain order, optionally after a sequence number. */
export async function readAudit(tx: Queryable, installationId: number, afterSeq = 0, limit = 1000): Promise<AuditEvent[]> {
  const rows = await tx.query<StoredEventRow & Record<string, unknown>>(
    `SELECT installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo,
            subject, outcome, data, prev_hash, hash
       FROM audit_events WHERE installation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [installationId, afterSeq, limit],
  );
  return rows.map(toAuditEvent);
}

/** Events about one subject (a proposal id) in chain order, at most `limit`. */
export async function readSubjectAudit(tx: Queryable, installationId: number, subject: string, limit = 500): Promise<AuditEvent[]> {
  const rows = await tx.query<StoredEventRow & Record<string, unknown>>(
    `SELECT installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo,
            subject, outcome, data, prev_hash, hash
       FROM audit_events WHERE installation_id = $1 AND subject = $2 ORDER BY seq LIMIT $3`,
    [installationId, subject, limit],
  );
  return rows.map(toAuditEvent);
}
