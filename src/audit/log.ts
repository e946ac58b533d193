import type { Queryable } from "../db/database.ts";
import { GENESIS_HASH, chainHash, eventBody, type AuditEvent, type AuditEventBody } from "./chain.ts";
import { decisionLine, logDecision } from "./decision-log.ts";
import { appendLeaf, eventLeaf } from "./merkle.ts";
import { encodeFrontier, readTree, type HeadRow } from "./tree-state.ts";

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
  // An upsert that locks the row, like SELECT ... FOR UPDATE. A chain begun
  // before the tree existed starts its tree with its next event.
  const [head] = await tx.query<HeadRow & Record<string, unknown>>(
    `INSERT INTO audit_heads (installation_id, seq, hash, tree_first_seq) VALUES ($1, 0, $2, 1)
     ON CONFLICT (installation_id) DO UPDATE SET tree_first_seq = COALESCE(audit_heads.tree_first_seq, audit_heads.seq + 1)
     RETURNING seq, hash, tree_first_seq, tree_size, tree_frontier`,
    [installationId, GENESIS_HASH],
  );
  if (!head) throw new Error("audit head could not be read for this installation");
  let tree = readTree(head);
  const events: AuditEvent[] = [];
  const nodes: { level: number; idx: number; hash: string }[] = [];
  let prev = { seq: Number(head.seq), hash: head.hash };
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
    const step = appendLeaf(tree.frontier, tree.size, eventLeaf(hash));
    for (const node of step.completed)
      nodes.push({ level: node.level, idx: node.index, hash: node.hash.toString("hex") });
    tree = { size: tree.size + 1, frontier: step.frontier };
  }
  const last = events[events.length - 1]!;
  // One statement: the head and the tree move, the completed subtrees and the
  // events are inserted (passed as JSON arrays and taken apart by PostgreSQL),
  // and the installation is marked due for a checkpoint.
  const inserted = await tx.query(
    `WITH moved AS (
       UPDATE audit_heads SET seq = $2, hash = $3, tree_size = $5, tree_frontier = $6
        WHERE installation_id = $1 RETURNING installation_id
     ), nodes AS (
       INSERT INTO audit_tree_nodes (installation_id, level, idx, hash)
       SELECT $1, n.level, n.idx, decode(n.hash, 'hex')
         FROM jsonb_to_recordset($7::jsonb) AS n(level smallint, idx bigint, hash text)
        WHERE EXISTS (SELECT 1 FROM moved)
       RETURNING 1
     ), due AS (
       INSERT INTO audit_checkpoint_due (installation_id, tree_size)
       SELECT $1, $5 WHERE EXISTS (SELECT 1 FROM moved)
       ON CONFLICT (installation_id) DO UPDATE SET tree_size = EXCLUDED.tree_size
       RETURNING 1
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
    [
      installationId,
      last.seq,
      last.hash,
      JSON.stringify(events),
      tree.size,
      encodeFrontier(tree.frontier),
      JSON.stringify(nodes),
    ],
  );
  if (inserted.length !== events.length)
    throw new Error("audit events could not be appended to this installation's chain");
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
export async function readAudit(
  tx: Queryable,
  installationId: number,
  afterSeq = 0,
  limit = 1000,
): Promise<AuditEvent[]> {
  const rows = await tx.query<StoredEventRow & Record<string, unknown>>(
    `SELECT installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo,
            subject, outcome, data, prev_hash, hash
       FROM audit_events WHERE installation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [installationId, afterSeq, limit],
  );
  return rows.map(toAuditEvent);
}

/** Events about one subject (a proposal id) in chain order, at most `limit`. */
export async function readSubjectAudit(
  tx: Queryable,
  installationId: number,
  subject: string,
  limit = 500,
): Promise<AuditEvent[]> {
  const rows = await tx.query<StoredEventRow & Record<string, unknown>>(
    `SELECT installation_id, seq, created_at, action, actor, actor_is_bot, actor_is_agent, repo,
            subject, outcome, data, prev_hash, hash
       FROM audit_events WHERE installation_id = $1 AND subject = $2 ORDER BY seq LIMIT $3`,
    [installationId, subject, limit],
  );
  return rows.map(toAuditEvent);
}

/** Claim installations whose tree grew since their last checkpoint (owner connection, across replicas). */
export function claimDueCheckpoints(tx: Queryable, until: Date, now: Date, limit: number) {
  return tx.query<{ installation_id: number }>(
    `UPDATE audit_checkpoint_due SET claimed_until = $1
      WHERE installation_id IN (
        SELECT installation_id FROM audit_checkpoint_due
         WHERE claimed_until IS NULL OR claimed_until < $2
         ORDER BY installation_id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING installation_id`,
    [until, now, limit],
  );
}

/**
 * A checkpoint of `size` was signed: the installation is due again only if its tree grew past it meanwhile, and
 * then its claim is let go, so the next sweep signs the rest instead of waiting for the claim to lapse.
 */
export async function clearDueCheckpoint(tx: Queryable, installationId: number, size: number): Promise<void> {
  await tx.query("DELETE FROM audit_checkpoint_due WHERE installation_id = $1 AND tree_size <= $2", [
    installationId,
    size,
  ]);
  await tx.query("UPDATE audit_checkpoint_due SET claimed_until = NULL WHERE installation_id = $1", [installationId]);
}
