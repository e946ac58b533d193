import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { OUTBOX_CHANNEL } from "./queue.ts";
import type { GitHubClient } from "../github/client.ts";
import { performJob, type JobRow } from "./jobs.ts";
import { JobConfigurationError, MalformedJobError } from "./job-kinds.ts";
import { errorWaitMs } from "../github/rate-limit.ts";
import { startClaimLoop, startLoop, type Loop } from "../loop.ts";

export interface OutboxWorkerOptions {
  db: Database;
  /** An Octokit authenticated as the installation. */
  github: (installationId: number) => Promise<GitHubClient>;
  now: () => Date;
  log: Logger;
  publicUrl: string;
  /** Minimum gap between two writes of one installation, across every process (GitHub asks for ~1 s). */
  paceMs?: number;
  /** First retry delay; doubles per attempt up to five minutes. */
  retryBaseMs?: number;
  leaseMs?: number;
  /** Opens sealed outreach text for publishing; null when the app has no keyring. */
  keyring?: Keyring | null;
}

const MAX_BACKOFF_MS = 5 * 60_000;
const MAX_ATTEMPTS = 25;

/**
 * Performs queued GitHub writes: leased so that a crash resumes elsewhere,
 * paced per installation through PostgreSQL so every process shares one
 * budget, decisions before progress text, and several queued updates of one
 * check run written once, with the latest state.
 */
export class OutboxWorker {
  readonly #o: Required<Omit<OutboxWorkerOptions, "log">> & { log: Logger };
  readonly #id = `worker-${randomBytes(4).toString("hex")}`;
  #passes: Loop | undefined;
  #report: Loop | undefined;
  /** A kick at the moment the next queued job may run (its installation's pace slot frees, its retry is due). */
  #whenReady: NodeJS.Timeout | undefined;
  #every = 250;
  lastBeat: Date | undefined;

  constructor(options: OutboxWorkerOptions) {
    this.#o = { paceMs: 1000, retryBaseMs: 1000, leaseMs: 60_000, keyring: null, ...options };
    // The public URL may be a getter known only once the server listens: read it when a job runs.
    Object.defineProperty(this.#o, "publicUrl", { get: () => options.publicUrl });
  }

  async start(): Promise<void> {
    const log = this.#o.log;
    // Woken by the queue's NOTIFY, by kick() and at least every 250 ms (sooner with a shorter pace).
    const every = Math.max(50, Math.min(this.#o.paceMs, 250));
    this.#every = every;
    const listen = (wake: () => void) => this.#o.db.listen(OUTBOX_CHANNEL, wake, wake);
    this.#passes = await startClaimLoop("outbox worker pass", () => this.#pass(), every, log, listen);
    this.#report = startLoop("outbox backlog report", () => this.#reportBacklog(), 30_000, log);
  }

  async stop(): Promise<void> {
    await this.#report?.stop();
    await this.#passes?.stop();
    clearTimeout(this.#whenReady);
  }

  /** The claim loop's step: one job; when none is ready, a kick when the next one will be, if before the next tick. */
  async #pass(): Promise<boolean> {
    if (await this.runOnce()) return true;
    const now = this.#o.now();
    const [row] = await this.#o.db.query<{ next: Date | null }>(
      `SELECT min(greatest(coalesce(o.run_after, $1), coalesce(p.next_at, $1))) AS next
         FROM outbox o LEFT JOIN outbox_pace p ON p.installation_id = o.installation_id
        WHERE o.done_at IS NULL AND (o.locked_until IS NULL OR o.locked_until < $1)`,
      [now],
    );
    const wait = row?.next ? row.next.getTime() - now.getTime() : 0;
    // A wait of 0 is a job held by something else (another check run's write in flight): the tick looks again.
    if (wait > 0 && wait < this.#every) {
      clearTimeout(this.#whenReady);
      this.#whenReady = setTimeout(() => this.kick(), wait + 1);
      this.#whenReady.unref();
    }
    return false;
  }

  /** Run ready jobs now (coalescing wake-ups). */
  kick(): void {
    this.#passes?.kick();
  }

  async #reportBacklog(): Promise<void> {
    const backlog = await this.backlog();
    if (backlog.depth > 0)
      this.#o.log.info({ outbox_depth: backlog.depth, outbox_oldest_age_ms: backlog.oldestAgeMs }, "outbox backlog");
  }

  /** How much is queued and how old the oldest job is: logged while non-empty, exported as metrics. */
  async backlog(): Promise<{ depth: number; oldestAgeMs: number }> {
    const [row] = await this.#o.db.query<{ depth: number; oldest: Date | null }>(
      "SELECT count(*)::int8 AS depth, min(created_at) AS oldest FROM outbox WHERE done_at IS NULL",
    );
    const depth = row?.depth ?? 0;
    const oldestAgeMs = row?.oldest ? Math.max(0, this.#o.now().getTime() - row.oldest.getTime()) : 0;
    return { depth, oldestAgeMs };
  }

  /** Process until nothing is queued (tests and shutdown); waits out the pace. */
  async drain(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (await this.runOnce()) {
        /* drained one */
      }
      const [row] = await this.#o.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM outbox WHERE done_at IS NULL",
      );
      if (!row || row.n === 0) return;
      if (Date.now() > deadline) {
        const stuck = await this.#o.db.query<{ operation: string; last_error: string | null; attempts: number }>(
          "SELECT operation, last_error, attempts FROM outbox WHERE done_at IS NULL ORDER BY id LIMIT 5",
        );
        throw new Error(`outbox still holds ${row.n} jobs after ${timeoutMs} ms: ${JSON.stringify(stuck)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Claim and perform one ready job; false when none is ready. */
  async runOnce(): Promise<boolean> {
    // Alive while working through a long backlog, not only between passes (/readyz reads it).
    this.lastBeat = this.#o.now();
    const job = await this.#claim();
    if (!job) return false;
    try {
      const result = await performJob(job, {
        db: this.#o.db,
        github: this.#o.github,
        now: this.#o.now,
        publicUrl: this.#o.publicUrl,
        keyring: this.#o.keyring,
      });
      await this.#o.db.transaction(async (tx) => {
        await tx.query(
          `UPDATE outbox SET done_at = $2, outcome = $3, locked_until = NULL, last_error = NULL WHERE id = $1`,
          [job.id, this.#o.now(), result.outcome],
        );
        if (job.coalesce_key) {
          await tx.query(
            `UPDATE outbox SET done_at = $4, outcome = 'coalesced', locked_until = NULL
              WHERE installation_id = $1 AND coalesce_key = $2 AND id <= $3 AND id <> $5 AND done_at IS NULL
                AND (locked_until IS NULL OR locked_until < $4)`,
            [job.installation_id, job.coalesce_key, job.max_key_id, this.#o.now(), job.id],
          );
        }
      });
    } catch (error) {
      if (error instanceof MalformedJobError || error instanceof JobConfigurationError)
        await this.#setAside(job, error);
      else await this.#fail(job, error);
    }
    return true;
  }

  /**
   * End a job that no retry can fix: a malformed one (never performed) or one
   * stopped by a configuration error (already reported on its proposal). The
   * row stays, done with outcome `malformed` or `config_error`, and the audit
   * log says why.
   */
  async #setAside(job: JobRow, error: MalformedJobError | JobConfigurationError): Promise<void> {
    const outcome = error instanceof MalformedJobError ? "malformed" : "config_error";
    this.#o.log.error(
      { job: job.id, operation: job.operation.slice(0, 64), outcome, err: error },
      "outbox job set aside",
    );
    const now = this.#o.now();
    await this.#o.db.transaction((tx) =>
      tx.query("UPDATE outbox SET done_at = $2, outcome = $3, locked_until = NULL, last_error = $4 WHERE id = $1", [
        job.id,
        now,
        outcome,
        error.message.slice(0, 500),
      ]),
    );
    if (outcome === "malformed") {
      await this.#o.db.tenant(job.installation_id, (tx) =>
        appendAudit(
          tx,
          job.installation_id,
          {
            action: "outbox.job_refused",
            outcome: "malformed",
            subject: String(job.id),
            data: { job_id: job.id, operation: job.operation.slice(0, 64), error: error.message.slice(0, 500) },
          },
          now,
        ),
      );
    }
  }

  async #claim(): Promise<(JobRow & { max_key_id: number }) | undefined> {
    const now = this.#o.now();
    try {
      return await this.#o.db.transaction(async (tx) => {
        const [job] = await tx.query<JobRow & Record<string, unknown>>(
          `WITH candidate AS (
             SELECT o.id FROM outbox o
              WHERE o.done_at IS NULL AND (o.run_after IS NULL OR o.run_after <= $1)
                AND (o.locked_until IS NULL OR o.locked_until < $1)
                AND NOT EXISTS (SELECT 1 FROM outbox_pace p
                                 WHERE p.installation_id = o.installation_id AND p.next_at > $1)
                -- one job at a time per check run: another may be creating it right now
                AND (o.coalesce_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM outbox b
                       WHERE b.installation_id = o.installation_id AND b.coalesce_key = o.coalesce_key
                         AND b.id <> o.id AND b.done_at IS NULL AND b.locked_until >= $1))
              ORDER BY o.priority, o.id
              LIMIT 1
              FOR UPDATE SKIP LOCKED)
           UPDATE outbox SET locked_until = $2, locked_by = $3, attempts = outbox.attempts + 1
             FROM candidate WHERE outbox.id = candidate.id
           RETURNING outbox.*`,
          [now, new Date(now.getTime() + this.#o.leaseMs), this.#id],
        );
        if (!job) return undefined;
        const reserved = await tx.query(
          `INSERT INTO outbox_pace (installation_id, next_at) VALUES ($1, $2)
           ON CONFLICT (installation_id) DO UPDATE SET next_at = EXCLUDED.next_at
            WHERE outbox_pace.next_at <= $3
           RETURNING installation_id`,
          [job.installation_id, new Date(now.getTime() + this.#o.paceMs), now],
        );
        if (reserved.length === 0) throw new PaceTaken();
        const [max] = await tx.query<{ id: number | null }>(
          "SELECT max(id) AS id FROM outbox WHERE installation_id = $1 AND coalesce_key = $2 AND done_at IS NULL",
          [job.installation_id, job.coalesce_key],
        );
        return { ...job, max_key_id: max?.id ?? job.id };
      });
    } catch (error) {
      if (error instanceof PaceTaken) return undefined;
      throw error;
    }
  }

  async #fail(job: JobRow, error: unknown): Promise<void> {
    const status = (error as { status?: number }).status;
    const backoff = Math.min(MAX_BACKOFF_MS, this.#o.retryBaseMs * 2 ** Math.max(0, job.attempts - 1));
    // A rate-limit refusal (retry-after, an exhausted window until its reset, a secondary limit) waits at least that long.
    const limited = errorWaitMs(error, this.#o.now().getTime());
    // A rate-limit refusal waits as long as GitHub asked: it is not the job's failure, so its backoff does not grow.
    const delay = limited ?? backoff;
    const summary = error instanceof Error ? `${error.name}${status ? `:${status}` : ""}` : "unknown error";
    // A rate-limit refusal is not the job's failure: it never counts toward giving up, so nothing is lost to it.
    const giveUp = limited === undefined && job.attempts >= MAX_ATTEMPTS;
    this.#o.log.warn(
      {
        job: job.id,
        operation: job.operation,
        attempts: job.attempts,
        status,
        retry_in_ms: delay,
        rate_limited: limited !== undefined,
      },
      "GitHub write failed; retrying with backoff",
    );
    const now = this.#o.now();
    await this.#o.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE outbox SET locked_until = NULL, run_after = $2, last_error = $3,
                done_at = CASE WHEN $4 THEN $5::timestamptz ELSE NULL END,
                outcome = CASE WHEN $4 THEN 'failed' ELSE NULL END,
                attempts = CASE WHEN $6 THEN greatest(attempts - 1, 0) ELSE attempts END
          WHERE id = $1`,
        [job.id, new Date(now.getTime() + delay), summary, giveUp, now, limited !== undefined],
      );
      if (limited !== undefined) {
        // GitHub asked this installation to wait (a secondary limit, or an exhausted window): every write of it waits, in every process.
        await tx.query(
          `INSERT INTO outbox_pace (installation_id, next_at) VALUES ($1, $2)
           ON CONFLICT (installation_id) DO UPDATE SET next_at = greatest(outbox_pace.next_at, EXCLUDED.next_at)`,
          [job.installation_id, new Date(now.getTime() + limited)],
        );
      }
    });
    await this.#o.db
      .tenant(job.installation_id, (tx) =>
        appendAudit(
          tx,
          job.installation_id,
          {
            action: "github.write",
            outcome: giveUp ? "failed" : "retrying",
            subject: String(job.payload.proposal_id ?? job.id),
            data: { operation: job.operation, attempt: job.attempts, error: summary },
          },
          now,
        ),
      )
      .catch((error: unknown) =>
        this.#o.log.error(
          { err: error, job: job.id, operation: job.operation },
          "the audit event of a failed GitHub write could not be written",
        ),
      );
  }
}

class PaceTaken extends Error {}
