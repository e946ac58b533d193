import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { startLoop, type Loop } from "../loop.ts";
import type { PipelineMetrics } from "./webhook-metrics.ts";

/** Why the endpoint refused a request before recording anything; a short fixed set, used as a metric label. */
export type RefusalReason =
  | "body_too_large"
  | "body_unreadable"
  | "headers_malformed"
  | "signature_missing"
  | "signature_malformed"
  | "signature_mismatch"
  | "body_not_json";

export interface RefusalOptions {
  db: Database;
  now: () => Date;
  log: Logger;
  metrics?: PipelineMetrics;
  /** One aggregated audit event per interval at most (default one minute). */
  intervalMs?: number;
}

/**
 * Refused webhook requests are unauthenticated: anyone can send them, so they
 * must not each write a row. Each is counted (a metric, at once) and the
 * counts are written as one `webhook.refused` event in the app-level chain
 * (installation 0) per interval, with the number and the reasons.
 */
export class RefusalLog {
  readonly #o: RefusalOptions;
  #counts = new Map<RefusalReason, number>();
  #since: Date | null = null;
  #loop: Loop | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: RefusalOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop = startLoop("refused webhooks audit", () => this.flush(), this.#o.intervalMs ?? 60_000, this.#o.log);
  }

  async stop(): Promise<void> {
    await this.#loop?.stop();
    await this.flush();
  }

  refuse(reason: RefusalReason): void {
    this.#o.metrics?.refused.inc({ reason });
    this.#since ??= this.#o.now();
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** Write what was counted since the last flush as one audit event (nothing when nothing was refused). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#counts.size === 0 || !this.#since) return;
    const counts = this.#counts;
    const since = this.#since;
    this.#counts = new Map();
    this.#since = null;
    const now = this.#o.now();
    const reasons = Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    const count = [...counts.values()].reduce((sum, n) => sum + n, 0);
    try {
      await this.#o.db.tenant(0, (tx) =>
        appendAudit(
          tx,
          0,
          {
            action: "webhook.refused",
            outcome: "refused",
            data: { count, reasons, from: since.toISOString(), to: now.toISOString() },
          },
          now,
        ),
      );
    } catch (error) {
      // Counted again at the next flush rather than lost.
      for (const [reason, n] of counts) this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + n);
      this.#since = since;
      this.#o.log.error({ err: error }, "could not audit refused webhooks; counted again at the next interval");
    }
  }
}
