import type { Queryable } from "../db/database.ts";
import { GENESIS_HASH, chainHash, eventBody, type AuditEvent, type AuditEventBody } from "./chain.ts";

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
  await tx.query(
    `INSERT INTO audit_heads (installation_id, seq, hash) VALUES ($1, 0, $2)
     ON CONFLICT (installation_id) DO NOTHING`,
    [installationId, GENESIS_HASH],
  );
  const [head] = await tx.query<{ seq: number; hash: string }>(
    "SELECT seq, hash FROM audit_heads WHERE installation_id = $1 FOR UPDATE",
    [installationId],
  );
  if (!head) throw new Error("audit head could not be read for this installation");
  const body: AuditEventBody = eventBody({
    installation_id: installationId,
    seq: head.seq + 1,
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
  const hash = chainHash(head.hash, body);
  await tx.query(
    `INSERT INTO audit_events (installation_id, seq, created_at, action, actor, actor_is_bot,
       actor_is_agent, repo, subject, outcome, data, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      body.installation_id,
      body.seq,
      body.created_at,
      body.action,
      body.actor,
      body.actor_is_bot,
      body.actor_is_agent,
      body.repo,
      body.subject,
      body.outcome,
      JSON.stringify(body.data),
      head.hash,
      hash,
    ],
  );
  await tx.query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE installation_id = $1", [
    installationId,
    body.seq,
    hash,
  ]);
  return { ...body, prev_hash: head.hash, hash };
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
