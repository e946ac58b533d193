import type { Database, Queryable } from "../db/database.ts";

/** NOTIFY channel: a delivery was recorded in the inbox. */
export const INBOX_CHANNEL = "agent_gate_inbox";

/** A verified delivery, as the endpoint records it before acknowledging. */
export interface InboxEntry {
  deliveryId: string;
  event: string;
  action: string | null;
  installationId: number | null;
  subject: string;
  /** The verified body, exactly as received. */
  payload: string;
  receivedAt: Date;
}

/** A delivery claimed for processing. */
export interface InboxRow {
  id: number;
  app_id: number;
  delivery_id: string;
  event: string;
  action: string | null;
  installation_id: number | null;
  subject: string;
  payload: string | null;
  received_at: Date;
  attempts: number;
}

interface Pending {
  entry: InboxEntry;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Records deliveries durably, several concurrent ones in one statement and
 * one commit (group commit): while one batch is being written, the next
 * fills, so a lone delivery waits for nobody and a burst pays one WAL flush
 * per batch. Resolves true for a new delivery, false for one already held.
 */
export class InboxWriter {
  readonly #db: Queryable;
  readonly #appId: number;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #writing = false;

  constructor(db: Queryable, appId: number, maxBatch = 64) {
    this.#db = db;
    this.#appId = appId;
    this.#maxBatch = maxBatch;
  }

  record(entry: InboxEntry): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      if (!this.#writing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        // Sorted by delivery id: two replicas writing batches that share deliveries (GitHub sending one
        // delivery to both) take the rows' locks in one order and cannot deadlock. The deliveries of one
        // batch arrived together, so no order among them is lost.
        const batch = this.#queue
          .splice(0, this.#maxBatch)
          .sort((a, b) =>
            a.entry.deliveryId < b.entry.deliveryId ? -1 : a.entry.deliveryId > b.entry.deliveryId ? 1 : 0,
          );
        try {
          const fresh = await insertDeliveries(
            this.#db,
            this.#appId,
            batch.map((p) => p.entry),
          );
          for (const p of batch) p.resolve(fresh.has(p.entry.deliveryId) && fresh.delete(p.entry.deliveryId));
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * One statement (one commit) for a batch: new deliveries inserted in arrival
 * order, those already held (in the inbox, processed or not) skipped; a
 * NOTIFY wakes the processors of every replica. Returns the new delivery ids.
 */
export async function insertDeliveries(
  db: Queryable,
  appId: number,
  entries: readonly InboxEntry[],
): Promise<Set<string>> {
  const rows = await db.query<{ delivery_id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::timestamptz[])
         WITH ORDINALITY AS u(delivery_id, event, action, installation_id, subject, payload, received_at, ord)
     ), inserted AS (
       INSERT INTO webhook_inbox (app_id, delivery_id, event, action, installation_id, subject, payload, received_at)
       SELECT $1, delivery_id, event, action, installation_id, subject, payload, received_at FROM input ORDER BY ord
       ON CONFLICT (app_id, delivery_id) DO NOTHING
       RETURNING delivery_id
     )
     SELECT delivery_id, pg_notify('${INBOX_CHANNEL}', '') AS notified FROM inserted`,
    [
      appId,
      entries.map((e) => e.deliveryId),
      entries.map((e) => e.event),
      entries.map((e) => e.action),
      entries.map((e) => e.installationId),
      entries.map((e) => e.subject),
      entries.map((e) => e.payload),
      entries.map((e) => e.receivedAt),
    ],
  );
  return new Set(rows.map((row) => row.delivery_id));
}

/**
 * Claim up to `limit` deliveries, each the oldest open one of its subject, so
 * one subject's deliveries run one at a time in arrival order and different
 * subjects in parallel, across every replica. A claim is a lease: a crashed
 * processor's deliveries are claimed again once it runs out.
 */
export async function claimDeliveries(
  db: Database,
  o: { now: Date; leaseMs: number; holder: string; limit: number },
): Promise<InboxRow[]> {
  if (o.limit <= 0) return [];
  // The front of the queue holds every earlier delivery of each subject it holds, so the head of a
  // subject (its oldest open delivery) is found there; the whole queue is read only when the front
  // has nothing ready (a long run of one subject waiting behind a retry).
  const params = [o.now, new Date(o.now.getTime() + o.leaseMs), o.holder, o.limit, CLAIM_FRONT];
  const front = await db.transaction((tx) => tx.query<InboxRow & Record<string, unknown>>(CLAIM_FROM_FRONT, params));
  if (front.length > 0) return front;
  const [queued] = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM (SELECT 1 FROM webhook_inbox WHERE processed_at IS NULL AND set_aside_at IS NULL ORDER BY id LIMIT $1) f",
    [CLAIM_FRONT],
  );
  if (Number(queued?.n ?? 0) < CLAIM_FRONT) return [];
  return db.transaction((tx) => tx.query<InboxRow & Record<string, unknown>>(CLAIM_FROM_ALL, params));
}

/** How many of the oldest open deliveries a claim looks at first. */
const CLAIM_FRONT = 256;

/** The ready heads of subjects, oldest first, leased to the holder. */
const CLAIM_CANDIDATES = `
       candidate AS (
         SELECT i.id FROM webhook_inbox i
          WHERE i.id IN (SELECT id FROM heads)
            AND i.processed_at IS NULL AND i.set_aside_at IS NULL
            AND (i.run_after IS NULL OR i.run_after <= $1)
            AND (i.locked_until IS NULL OR i.locked_until < $1)
          ORDER BY i.id
          LIMIT $4
          FOR UPDATE SKIP LOCKED)
       UPDATE webhook_inbox SET locked_until = $2, locked_by = $3, attempts = webhook_inbox.attempts + 1
         FROM candidate WHERE webhook_inbox.id = candidate.id
       RETURNING webhook_inbox.id, webhook_inbox.app_id, webhook_inbox.delivery_id, webhook_inbox.event,
                 webhook_inbox.action, webhook_inbox.installation_id, webhook_inbox.subject,
                 webhook_inbox.payload, webhook_inbox.received_at, webhook_inbox.attempts`;

/** Heads found among the $5 oldest open deliveries (webhook_inbox_open_order). */
const CLAIM_FROM_FRONT =
  `WITH open AS (
         SELECT id, subject FROM webhook_inbox
          WHERE processed_at IS NULL AND set_aside_at IS NULL
          ORDER BY id LIMIT $5),
       heads AS (SELECT DISTINCT ON (subject) id FROM open ORDER BY subject, id),` + CLAIM_CANDIDATES;

/** Heads found in the whole queue ($5 unused but typed, so both statements take the same parameters). */
const CLAIM_FROM_ALL =
  `WITH heads AS (
         SELECT DISTINCT ON (subject) id FROM webhook_inbox
          WHERE processed_at IS NULL AND set_aside_at IS NULL AND $5::int > 0
          ORDER BY subject, id),` + CLAIM_CANDIDATES;

/** Extend the leases of deliveries still being processed by this holder. */
export async function renewLeases(db: Queryable, ids: readonly number[], until: Date, holder: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    "UPDATE webhook_inbox SET locked_until = $2 WHERE id = ANY($1::int8[]) AND locked_by = $3 AND processed_at IS NULL",
    [ids, until, holder],
  );
}

/** Mark a delivery processed when no handler's transaction did (it had nothing to record, or was a duplicate). */
export async function markProcessed(db: Queryable, id: number, now: Date): Promise<void> {
  await db.query(
    "UPDATE webhook_inbox SET processed_at = $2, payload = NULL, locked_until = NULL WHERE id = $1 AND processed_at IS NULL",
    [id, now],
  );
}

/** Whether a delivery's processing committed (its ledger row's trigger marked it). */
export async function isProcessed(db: Queryable, id: number): Promise<boolean> {
  const [row] = await db.query<{ processed: boolean }>(
    "SELECT processed_at IS NOT NULL AS processed FROM webhook_inbox WHERE id = $1",
    [id],
  );
  return row?.processed ?? true;
}

/** A failed try: retried after `runAfter`, or set aside for good. */
export async function failDelivery(
  db: Queryable,
  id: number,
  o: { runAfter: Date; error: string; setAside: Date | null },
): Promise<void> {
  await db.query(
    "UPDATE webhook_inbox SET locked_until = NULL, run_after = $2, last_error = $3, set_aside_at = $4 WHERE id = $1 AND processed_at IS NULL",
    [id, o.runAfter, o.error, o.setAside],
  );
}

/** Open deliveries (not processed, not set aside), the oldest one's receipt, and those set aside. */
export async function inboxState(db: Queryable): Promise<{ open: number; oldest: Date | null; setAside: number }> {
  const [row] = await db.query<{ open: number; oldest: Date | null; set_aside: number }>(
    `SELECT count(*) FILTER (WHERE set_aside_at IS NULL)::int8 AS open,
            min(received_at) FILTER (WHERE set_aside_at IS NULL) AS oldest,
            count(*) FILTER (WHERE set_aside_at IS NOT NULL)::int8 AS set_aside
       FROM webhook_inbox WHERE processed_at IS NULL`,
  );
  return { open: row?.open ?? 0, oldest: row?.oldest ?? null, setAside: row?.set_aside ?? 0 };
}

/** Which of these delivery ids the inbox holds (received, whatever became of them). */
export async function heldDeliveries(db: Queryable, appId: number, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.query<{ delivery_id: string }>(
    "SELECT delivery_id FROM webhook_inbox WHERE app_id = $1 AND delivery_id = ANY($2::text[])",
    [appId, ids],
  );
  return new Set(rows.map((row) => row.delivery_id));
}

/** Forget processed deliveries received before `before` (past GitHub's redelivery window). */
export async function pruneProcessed(db: Queryable, before: Date): Promise<number> {
  const rows = await db.query(
    "DELETE FROM webhook_inbox WHERE processed_at IS NOT NULL AND received_at < $1 RETURNING id",
    [before],
  );
  return rows.length;
}
