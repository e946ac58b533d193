import { z } from "zod";
import type { Database, Queryable } from "../db/database.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";
import { NOTIFY_EVENTS, type NotifyEvent } from "./message.ts";

/**
 * The notifications queue (notify_jobs) and each channel's pace
 * (notify_pace): its own table, its own worker, so a message never waits
 * behind a GitHub write and a GitHub write never waits behind a message.
 * Every statement on these tables is here.
 */

/** Workers LISTEN here; a queued message is announced at its transaction's commit. */
export const NOTIFY_CHANNEL = "agent_gate_notify";

/** A job's payload, parsed where the worker reads it: channels an escalation or reminder goes to. */
export const jobPayloadSchema = z.strictObject({
  channels: z
    .array(z.string().regex(/^chn_[A-Za-z0-9]{20}$/))
    .max(50)
    .optional(),
});
export type JobPayload = z.infer<typeof jobPayloadSchema>;

export interface NotifyJob {
  id: number;
  installation_id: number;
  proposal_id: string;
  event: NotifyEvent;
  channel_id: string | null;
  dedupe_key: string;
  payload: JobPayload;
  attempts: number;
}

type JobRow = Omit<NotifyJob, "payload" | "event"> & { payload: unknown; event: string };

export interface QueuedNotification {
  installationId: number;
  proposalId: string;
  event: NotifyEvent;
  /** null: the proposal's event, fanned out to its channels by the worker. */
  channelId?: string | null;
  /** Defaults to event:proposal[:channel]; queuing the same key again does nothing. */
  dedupeKey?: string;
  payload?: JobPayload;
}

/** Queue a message in the caller's transaction (idempotent by its key); workers wake at commit. */
export async function queueNotification(tx: Queryable, job: QueuedNotification, now: Date): Promise<void> {
  const channelId = job.channelId ?? null;
  const key = job.dedupeKey ?? [job.event, job.proposalId, ...(channelId ? [channelId] : [])].join(":");
  await tx.query(
    `WITH queued AS (
       INSERT INTO notify_jobs (installation_id, proposal_id, event, channel_id, dedupe_key, payload, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (installation_id, dedupe_key) DO NOTHING
       RETURNING installation_id)
     SELECT pg_notify($8, installation_id::text) FROM queued`,
    [
      job.installationId,
      job.proposalId,
      job.event,
      channelId,
      key,
      JSON.stringify(job.payload ?? {}),
      now,
      NOTIFY_CHANNEL,
    ],
  );
}

/** A row that is not a job this code can perform: set aside, never retried. */
export class MalformedNotifyJob extends Error {}

function parseJob(row: JobRow): NotifyJob {
  const payload = jobPayloadSchema.safeParse(row.payload);
  if (
    !(NOTIFY_EVENTS as readonly string[]).includes(row.event) ||
    !PROPOSAL_ID_PATTERN.test(row.proposal_id) ||
    !payload.success
  ) {
    throw new MalformedNotifyJob(`notify job ${row.id} is malformed`);
  }
  return { ...row, event: row.event as NotifyEvent, payload: payload.data };
}

/**
 * Claim the oldest ready job whose channel may send now (leased: a crashed
 * worker's job is taken again when the lease runs out) and reserve its
 * channel's next slot. Across installations, on the owner connection.
 */
export type Claimed = { job: NotifyJob } | { malformed: { id: number; installation_id: number; error: string } };

export async function claimJob(
  db: Database,
  now: Date,
  leaseMs: number,
  worker: string,
  paceMs: (channelId: string) => number,
): Promise<Claimed | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<JobRow>(
      `WITH candidate AS (
         SELECT j.id FROM notify_jobs j
          WHERE j.done_at IS NULL AND (j.run_after IS NULL OR j.run_after <= $1)
            AND (j.locked_until IS NULL OR j.locked_until < $1)
            AND (j.channel_id IS NULL OR NOT EXISTS (SELECT 1 FROM notify_pace p WHERE p.channel_id = j.channel_id AND p.next_at > $1))
          ORDER BY j.id
          LIMIT 1
          FOR UPDATE SKIP LOCKED)
       UPDATE notify_jobs SET locked_until = $2, locked_by = $3, attempts = notify_jobs.attempts + 1
         FROM candidate WHERE notify_jobs.id = candidate.id
       RETURNING notify_jobs.id, notify_jobs.installation_id, notify_jobs.proposal_id, notify_jobs.event, notify_jobs.channel_id,
                 notify_jobs.dedupe_key, notify_jobs.payload, notify_jobs.attempts`,
      [now, new Date(now.getTime() + leaseMs), worker],
    );
    if (!row) return undefined;
    if (row.channel_id) {
      await tx.query(
        `INSERT INTO notify_pace (channel_id, installation_id, next_at) VALUES ($1, $2, $3)
         ON CONFLICT (channel_id) DO UPDATE SET next_at = GREATEST(notify_pace.next_at, EXCLUDED.next_at)`,
        [row.channel_id, row.installation_id, new Date(now.getTime() + paceMs(row.channel_id))],
      );
    }
    try {
      return { job: parseJob(row) };
    } catch (error) {
      if (!(error instanceof MalformedNotifyJob)) throw error;
      return { malformed: { id: row.id, installation_id: row.installation_id, error: error.message } };
    }
  });
}

export async function completeJob(db: Database, id: number, outcome: string, now: Date): Promise<void> {
  await db.query(
    "UPDATE notify_jobs SET done_at = $2, outcome = $3, locked_until = NULL, last_error = NULL WHERE id = $1",
    [id, now, outcome],
  );
}

/** Retry at `retryAt`, or end it as failed (`giveUp`); `error` is a summary without secrets. */
export async function failJob(db: Database, id: number, error: string, retryAt: Date | null, now: Date): Promise<void> {
  await db.query(
    `UPDATE notify_jobs SET locked_until = NULL, last_error = $2, run_after = $3,
            done_at = CASE WHEN $3::timestamptz IS NULL THEN $4::timestamptz ELSE NULL END,
            outcome = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE NULL END
      WHERE id = $1`,
    [id, error.slice(0, 500), retryAt, now],
  );
}

/** A channel rate-limited by its service: nothing more is sent to it before `until`. */
export async function holdChannel(db: Database, channelId: string, installationId: number, until: Date): Promise<void> {
  await db.query(
    `INSERT INTO notify_pace (channel_id, installation_id, next_at) VALUES ($1, $2, $3)
     ON CONFLICT (channel_id) DO UPDATE SET next_at = GREATEST(notify_pace.next_at, EXCLUDED.next_at)`,
    [channelId, installationId, until],
  );
}

export interface NotifyQueueState {
  depth: number;
  oldest: Date | null;
  failed: number;
  /** The latest messages that failed for good (no secrets: channel id, event, error summary). */
  recentFailures: {
    proposal_id: string;
    channel_id: string | null;
    event: string;
    last_error: string | null;
    done_at: Date;
  }[];
}

export async function notifyQueueState(db: Queryable): Promise<NotifyQueueState> {
  const [row] = await db.query<{ depth: number; oldest: Date | null; failed: number }>(
    `SELECT count(*) FILTER (WHERE done_at IS NULL)::int8 AS depth,
            min(created_at) FILTER (WHERE done_at IS NULL) AS oldest,
            count(*) FILTER (WHERE outcome = 'failed')::int8 AS failed
       FROM notify_jobs`,
  );
  const recentFailures = await db.query<NotifyQueueState["recentFailures"][number]>(
    "SELECT proposal_id, channel_id, event, last_error, done_at FROM notify_jobs WHERE outcome = 'failed' ORDER BY done_at DESC LIMIT 5",
  );
  return {
    depth: Number(row?.depth ?? 0),
    oldest: row?.oldest ? new Date(row.oldest) : null,
    failed: Number(row?.failed ?? 0),
    recentFailures,
  };
}

/** How many jobs are not done (tests' drain, the worker's report). */
export async function openJobCount(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM notify_jobs WHERE done_at IS NULL");
  return Number(row?.n ?? 0);
}
