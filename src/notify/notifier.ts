import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import type { ChannelType } from "./channel-kinds.ts";
import { findChannel } from "./channel-store.ts";
import { deliver } from "./deliver.ts";
import { classifyFailure } from "./failures.ts";
import { claimJob, completeJob, failJob, holdChannel, NOTIFY_CHANNEL, openJobCount, type NotifyJob } from "./jobs.ts";
import { fanOut, type ConfigReader } from "./plan.ts";
import { loopFailures, startClaimLoop, startLoop, type Loop } from "../loop.ts";
import { sweepSchedule } from "./schedule.ts";

export interface NotifierOptions {
  db: Database;
  keyring: Keyring | null;
  now: () => Date;
  log: Logger;
  publicUrl: () => string;
  /** The Slack Web API base (AGENT_GATE_SLACK_API_URL). */
  slackApiUrl: string;
  readConfig: ConfigReader;
  /** Gap between two messages to one channel, by type (Slack asks for about one a second per channel). */
  paceMs?: Partial<Record<ChannelType, number>>;
  retryBaseMs?: number;
  maxAttempts?: number;
  leaseMs?: number;
  /** How often due escalations and reminders are swept (ms). */
  sweepMs?: number;
  /** Counts a message sent or failed for good (the metrics). */
  count?: (type: string, outcome: "sent" | "failed") => void;
  /** Messages sent at the same time by this process (default 4). */
  concurrency?: number;
}

/** Production's gap between two messages to one channel, by type. */
export const DEFAULT_NOTIFY_PACE_MS: Readonly<Record<ChannelType, number>> = {
  slack: 1000,
  teams: 500,
  email: 200,
  webhook: 0,
};
const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * The notifications worker: its own queue (notify_jobs) and loop, apart
 * from the outbox of GitHub writes, so neither waits for the other and no
 * decision waits for a message. Jobs are leased (a crashed worker's job is
 * taken again), paced per channel across processes, retried with backoff;
 * a message that fails for good is audited (`notification.failed`), counted
 * and shown by `doctor`. A proposal's channels are told at the same time
 * (up to `concurrency` messages in flight; claims are still taken one at a
 * time, so each sees the pace the one before reserved): a slow SMTP server
 * does not delay the Slack message or the webhook.
 */
export class Notifier {
  readonly #o: NotifierOptions;
  readonly #id = `notifier-${randomBytes(4).toString("hex")}`;
  readonly #types = new Map<string, ChannelType>();
  #passes: Loop | undefined;
  #sweeps: Loop | undefined;
  /** Messages being sent now, each started by the claim loop. */
  readonly #sending = new Set<Promise<void>>();

  constructor(options: NotifierOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const log = this.#o.log;
    const listen = (wake: () => void) => this.#o.db.listen(NOTIFY_CHANNEL, wake, wake);
    this.#passes = await startClaimLoop("notifier pass", () => this.#claimAndSend(), 250, log, listen);
    this.#sweeps = startLoop("notification schedule sweep", () => this.sweep(), this.#o.sweepMs ?? 15_000, log);
  }

  async stop(): Promise<void> {
    await this.#sweeps?.stop();
    await this.#passes?.stop();
    await Promise.all(this.#sending);
  }

  /** Queue due escalations, reminders and expiry warnings (safe on every replica). */
  sweep(): Promise<number> {
    return sweepSchedule(this.#o.db, this.#o.now());
  }

  /** Run ready jobs now (coalescing wake-ups). */
  kick(): void {
    this.#passes?.kick();
  }

  /** Process until nothing is queued (tests, shutdown). */
  async drain(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (await this.runOnce()) {
        /* one more */
      }
      const open = await openJobCount(this.#o.db);
      if (open === 0) return;
      if (Date.now() > deadline) throw new Error(`notify queue still holds ${open} jobs after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async #typeOf(job: NotifyJob & { channel_id: string }): Promise<ChannelType | undefined> {
    const known = this.#types.get(job.channel_id);
    if (known) return known;
    const row = await this.#o.db.tenant(job.installation_id, (tx) => findChannel(tx, job.channel_id));
    if (row) this.#types.set(job.channel_id, row.type);
    return row?.type;
  }

  /** Claim and perform one ready job; false when none is ready. */
  async runOnce(): Promise<boolean> {
    const claimed = await this.#claim();
    if (!claimed) return false;
    await this.#perform(claimed);
    return true;
  }

  /**
   * The claim loop's step: wait for a free slot, claim one ready job and start sending it without waiting for
   * the send; false when none is ready. A finished send looks again (its channel's next message may be due).
   */
  async #claimAndSend(): Promise<boolean> {
    while (this.#sending.size >= (this.#o.concurrency ?? 4)) await Promise.race(this.#sending);
    const claimed = await this.#claim();
    if (!claimed) return false;
    const sending: Promise<void> = this.#perform(claimed)
      .catch((error: unknown) => {
        loopFailures.inc({ loop: "notifier pass" });
        this.#o.log.error({ err: error }, "notifier pass failed; it runs again");
      })
      .finally(() => {
        this.#sending.delete(sending);
        this.kick();
      });
    this.#sending.add(sending);
    return true;
  }

  #claim(): ReturnType<typeof claimJob> {
    const pace = (channelId: string) => {
      const type = this.#types.get(channelId) ?? "slack";
      return this.#o.paceMs?.[type] ?? DEFAULT_NOTIFY_PACE_MS[type];
    };
    return claimJob(this.#o.db, this.#o.now(), this.#o.leaseMs ?? 60_000, this.#id, pace);
  }

  async #perform(claimed: NonNullable<Awaited<ReturnType<typeof claimJob>>>): Promise<void> {
    const now = this.#o.now();
    if ("malformed" in claimed) {
      this.#o.log.error({ job: claimed.malformed.id }, "notify job malformed; set aside");
      await failJob(this.#o.db, claimed.malformed.id, claimed.malformed.error, null, now);
      return;
    }
    const { job } = claimed;
    let type: ChannelType | undefined;
    try {
      let outcome: string;
      if (job.channel_id === null) outcome = await fanOut(this.#o.db, this.#o.readConfig, job, now);
      else {
        const channelJob = { ...job, channel_id: job.channel_id };
        type = await this.#typeOf(channelJob);
        outcome = await deliver(
          { db: this.#o.db, keyring: this.#o.keyring, publicUrl: this.#o.publicUrl, slackApiUrl: this.#o.slackApiUrl },
          channelJob,
          this.#o.now,
        );
        if (type && outcome !== "skipped") this.#o.count?.(type, "sent");
      }
      await completeJob(this.#o.db, job.id, outcome, this.#o.now());
    } catch (error) {
      await this.#fail(job, type, error);
    }
  }

  async #fail(job: NotifyJob, type: ChannelType | undefined, error: unknown): Promise<void> {
    const failure = classifyFailure(error);
    const now = this.#o.now();
    const giveUp = failure.permanent || job.attempts >= (this.#o.maxAttempts ?? 10);
    const backoff = Math.min(MAX_BACKOFF_MS, (this.#o.retryBaseMs ?? 1000) * 2 ** Math.max(0, job.attempts - 1));
    const delay = Math.max(backoff, failure.retryAfterMs ?? 0);
    this.#o.log.warn(
      {
        job: job.id,
        event: job.event,
        channel: job.channel_id,
        attempts: job.attempts,
        error: failure.summary,
        give_up: giveUp,
      },
      giveUp ? "notification failed for good" : "notification failed; retrying with backoff",
    );
    if (failure.retryAfterMs !== undefined && job.channel_id)
      await holdChannel(
        this.#o.db,
        job.channel_id,
        job.installation_id,
        new Date(now.getTime() + failure.retryAfterMs),
      );
    await failJob(this.#o.db, job.id, failure.summary, giveUp ? null : new Date(now.getTime() + delay), now);
    if (!giveUp) return;
    this.#o.count?.(type ?? "fanout", "failed");
    await this.#o.db.tenant(job.installation_id, async (tx) => {
      const channel = job.channel_id ? await findChannel(tx, job.channel_id) : undefined;
      await appendAudit(
        tx,
        job.installation_id,
        {
          action: "notification.failed",
          outcome: "failed",
          subject: job.proposal_id,
          data: {
            event: job.event,
            channel: channel?.name ?? null,
            type: channel?.type ?? null,
            attempts: job.attempts,
            error: failure.summary,
          },
        },
        now,
      );
    });
  }
}
