import { randomBytes } from "node:crypto";
import { inDelivery } from "../audit/decision-log.ts";
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { GateError } from "../errors.ts";
import { DuplicateDelivery, recordDelivery, type Delivery } from "./ledger.ts";
import {
  INBOX_CHANNEL,
  claimDeliveries,
  failDelivery,
  isProcessed,
  markProcessed,
  renewLeases,
  type InboxRow,
} from "./inbox.ts";
import type { PipelineMetrics } from "./webhook-metrics.ts";
import { startClaimLoop, startLoop, type Loop } from "../loop.ts";

/** Hands one delivery to the gate's handlers (Probot's receive); throws when they fail. */
export type Dispatch = (delivery: { id: string; name: string; payload: Record<string, unknown> }) => Promise<void>;

export interface ProcessorOptions {
  db: Database;
  appId: number;
  dispatch: Dispatch;
  now: () => Date;
  log: Logger;
  metrics?: PipelineMetrics;
  /** Deliveries handled at once by this process (different subjects). */
  concurrency?: number;
  /** First retry delay; doubles per try up to five minutes. */
  retryBaseMs?: number;
  /** Tries before a delivery is set aside. */
  maxAttempts?: number;
  /** Lease of a claimed delivery, renewed while it is handled; a crashed process's deliveries return after it. */
  leaseMs?: number;
  /** Poll interval besides NOTIFY (deliveries whose retry is due, a lost notification). */
  pollMs?: number;
}

const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Processes the inbox after the acknowledgement: claims deliveries across
 * replicas, one at a time per subject in arrival order, several subjects at
 * once; hands each to the handlers, whose transaction records the ledger row
 * that marks it processed together with its consequences. A failure is tried
 * again with backoff; after maxAttempts the delivery is set aside (audited,
 * counted, listed by `doctor`) and its subject moves on.
 */
export class InboxProcessor {
  readonly #o: Required<Omit<ProcessorOptions, "metrics">> & { metrics?: PipelineMetrics };
  readonly #holder = `processor-${randomBytes(4).toString("hex")}`;
  readonly #inflight = new Map<number, Promise<void>>();
  #claims: Loop | undefined;
  #renewals: Loop | undefined;
  lastBeat: Date | undefined;

  constructor(options: ProcessorOptions) {
    this.#o = { concurrency: 8, retryBaseMs: 1000, maxAttempts: 8, leaseMs: 30_000, pollMs: 1000, ...options };
  }

  async start(): Promise<void> {
    const log = this.#o.log;
    const listen = (wake: () => void) => this.#o.db.listen(INBOX_CHANNEL, wake, wake);
    this.#claims = await startClaimLoop("inbox claim", () => this.#claimSome(), this.#o.pollMs, log, listen);
    // A delivery's lease is renewed while it runs: a lease that runs out lets another process resume it.
    const every = Math.max(50, Math.floor(this.#o.leaseMs / 3));
    this.#renewals = startLoop("inbox lease renewal", () => this.#renewLeases(), every, log);
  }

  async stop(): Promise<void> {
    await this.#claims?.stop();
    await Promise.allSettled([...this.#inflight.values()]);
    await this.#renewals?.stop();
  }

  /** Claim what is ready now (coalescing wake-ups). */
  kick(): void {
    this.#claims?.kick();
  }

  /** Claims as many deliveries as there is room for and starts them; true when the room filled up (claim again). */
  async #claimSome(): Promise<boolean> {
    try {
      const free = this.#o.concurrency - this.#inflight.size;
      if (free <= 0) return false;
      const rows = await claimDeliveries(this.#o.db, {
        now: this.#o.now(),
        leaseMs: this.#o.leaseMs,
        holder: this.#holder,
        limit: free,
      });
      for (const row of rows) this.#start(row);
      return rows.length === free;
    } finally {
      this.lastBeat = this.#o.now();
    }
  }

  #renewLeases(): Promise<void> {
    const until = new Date(this.#o.now().getTime() + this.#o.leaseMs);
    return renewLeases(this.#o.db, [...this.#inflight.keys()], until, this.#holder);
  }

  #start(row: InboxRow): void {
    const work = this.#process(row)
      .catch((error: unknown) =>
        this.#o.log.error(
          { err: error, delivery: row.delivery_id },
          "inbox delivery could not be settled; its lease runs out and it is tried again",
        ),
      )
      .finally(() => {
        this.#inflight.delete(row.id);
        this.kick();
      });
    this.#inflight.set(row.id, work);
  }

  async #process(row: InboxRow): Promise<void> {
    const payload = parsed(row.payload);
    const delivery = describe(row, payload ?? {});
    try {
      if (!payload) throw new Error("inbox row without a JSON object payload");
      await inDelivery(row.delivery_id, () => this.#o.dispatch({ id: row.delivery_id, name: row.event, payload }));
      // A handler that acted recorded the delivery with its consequences; any other is recorded here.
      if (!(await isProcessed(this.#o.db, row.id))) {
        await this.#o.db.tenant(delivery.installationId ?? 0, (tx) =>
          recordDelivery(tx, delivery, this.#o.now(), "no_action"),
        );
      }
      this.#o.metrics?.processed.inc({ outcome: "processed" });
    } catch (error) {
      if (onlyDuplicates(error)) {
        await this.#duplicate(row, delivery);
        return;
      }
      await this.#failed(row, delivery, error);
    }
  }

  /** GitHub sent it again after it was processed: nothing more happens, and the trail says so. */
  async #duplicate(row: InboxRow, delivery: Delivery): Promise<void> {
    const now = this.#o.now();
    await markProcessed(this.#o.db, row.id, now);
    this.#o.metrics?.processed.inc({ outcome: "duplicate" });
    const installationId = delivery.installationId ?? 0;
    await this.#o.db.tenant(installationId, (tx) =>
      appendAudit(
        tx,
        installationId,
        {
          action: "webhook.duplicate",
          outcome: "ignored",
          actor: delivery.sender?.login ?? null,
          repo: delivery.repo,
          subject: delivery.id,
          data: { event: delivery.event, action: delivery.action, delivery_id: delivery.id },
        },
        now,
      ),
    );
  }

  async #failed(row: InboxRow, delivery: Delivery, error: unknown): Promise<void> {
    const now = this.#o.now();
    const summary = errorName(error);
    const giveUp = row.attempts >= this.#o.maxAttempts;
    const backoff = Math.min(MAX_BACKOFF_MS, this.#o.retryBaseMs * 2 ** Math.max(0, row.attempts - 1));
    const retryAfter = Number(
      (error as { response?: { headers?: Record<string, string> } }).response?.headers?.["retry-after"],
    );
    const delay =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? Math.min(MAX_BACKOFF_MS, Math.max(retryAfter * 1000, backoff))
        : backoff;
    this.#o.log[giveUp ? "error" : "warn"](
      { err: error, delivery: row.delivery_id, event: row.event, attempts: row.attempts },
      giveUp
        ? "webhook delivery set aside after failing every try; the gate stays closed"
        : "webhook delivery failed; it is tried again with backoff",
    );
    const release = { runAfter: new Date(now.getTime() + delay), error: summary, setAside: giveUp ? now : null };
    const installationId = delivery.installationId ?? 0;
    const event = {
      action: giveUp ? "webhook.set_aside" : "webhook.failed",
      outcome: giveUp ? "set_aside" : "retrying",
      actor: delivery.sender?.login ?? null,
      repo: delivery.repo,
      subject: delivery.id,
      data: {
        event: delivery.event,
        action: delivery.action,
        delivery_id: delivery.id,
        attempt: row.attempts,
        error: summary,
      },
    };
    // The try's event first, then the row's release: the next try can only be claimed once this one is in the trail,
    // so a delivery's attempts are audited in order. (The inbox is no tenant's table, so the two cannot share a
    // tenant transaction; a crash between them leaves the row leased, and it is tried again when the lease ends.)
    await this.#o.db
      .tenant(installationId, (tx) => appendAudit(tx, installationId, event, now))
      .catch((auditError: unknown) =>
        this.#o.log.error({ err: auditError, delivery: row.delivery_id }, "could not audit a failed webhook delivery"),
      );
    await failDelivery(this.#o.db, row.id, release);
    this.#o.metrics?.processed.inc({ outcome: giveUp ? "set_aside" : "retried" });
  }

  /** Deliveries being handled by this process now. */
  get busy(): number {
    return this.#inflight.size;
  }
}

function parsed(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function describe(row: InboxRow, payload: Record<string, unknown>): Delivery {
  const sender = payload.sender as { login?: unknown; type?: unknown } | undefined;
  const repository = payload.repository as { full_name?: unknown } | undefined;
  return {
    appId: row.app_id,
    id: row.delivery_id,
    event: row.event,
    action: row.action,
    installationId: row.installation_id,
    sender: typeof sender?.login === "string" ? { login: sender.login, type: String(sender.type ?? "User") } : null,
    repo: typeof repository?.full_name === "string" ? repository.full_name : null,
  };
}

function onlyDuplicates(error: unknown): boolean {
  if (error instanceof DuplicateDelivery) return true;
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(onlyDuplicates);
  return false;
}

function errorName(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(errorName).join(",");
  if (error instanceof GateError) return error.code;
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return typeof status === "number" ? `${error.name}:${status}` : error.name;
  }
  return typeof error;
}
