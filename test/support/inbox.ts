import type { Queryable } from "../../src/db/database.ts";

/**
 * Waiting for the inbox processor, which decides after the acknowledgement:
 * these poll the inbox (never a fixed sleep) and fail with what is left.
 * The poll starts every 3 ms and backs off to every 25 ms: a burst of a hundred
 * waiters must not take the processor's turn at the database from it.
 */
const FIRST_STEP_MS = 3;
const LAST_STEP_MS = 25;

async function until(check: () => Promise<string | null>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let step = FIRST_STEP_MS; ; step = Math.min(LAST_STEP_MS, step * 1.5)) {
    const pending = await check();
    if (pending === null) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; still: ${pending}`);
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}

/** Where each of an app's deliveries stands: settled once processed, or set aside after every try. */
async function settledStates(
  db: Queryable,
  appId: number,
  deliveryIds: string[],
): Promise<Map<string, { done: boolean; state: string }>> {
  const rows = await db.query<{ delivery_id: string; done: boolean; state: string }>(
    `SELECT delivery_id, processed_at IS NOT NULL OR set_aside_at IS NOT NULL AS done,
            json_build_object('processed', processed_at IS NOT NULL, 'set_aside', set_aside_at IS NOT NULL,
                              'attempts', attempts, 'last_error', last_error)::text AS state
       FROM webhook_inbox WHERE app_id = $1 AND delivery_id = ANY($2::text[])`,
    [appId, deliveryIds],
  );
  return new Map(rows.map((row) => [row.delivery_id, row]));
}

/** Until the delivery is processed (or set aside after every try). */
export function deliverySettled(db: Queryable, appId: number, deliveryId: string, timeoutMs = 30_000): Promise<void> {
  return new InboxSettler(db, appId).settled(deliveryId, timeoutMs);
}

/** Until every delivery in the inbox is processed or set aside. */
export function inboxDrained(db: Queryable, timeoutMs = 30_000): Promise<void> {
  return until(
    async () => {
      const rows = await db.query<{ delivery_id: string; attempts: number; last_error: string | null }>(
        "SELECT delivery_id, attempts, last_error FROM webhook_inbox WHERE processed_at IS NULL AND set_aside_at IS NULL ORDER BY id LIMIT 5",
      );
      return rows.length === 0 ? null : JSON.stringify(rows);
    },
    timeoutMs,
    "the inbox was not drained",
  );
}

/** Until the delivery has been tried at least `attempts` times and is not being tried now. */
export function deliveryTried(
  db: Queryable,
  appId: number,
  deliveryId: string,
  attempts = 1,
  timeoutMs = 15_000,
): Promise<void> {
  return until(
    async () => {
      const [row] = await db.query<{ attempts: number; busy: boolean; processed: boolean; last_error: string | null }>(
        `SELECT attempts, locked_until IS NOT NULL AS busy, processed_at IS NOT NULL AS processed, last_error
           FROM webhook_inbox WHERE app_id = $1 AND delivery_id = $2`,
        [appId, deliveryId],
      );
      if (!row) return "not in the inbox";
      return row.processed || (row.attempts >= attempts && !row.busy) ? null : JSON.stringify(row);
    },
    timeoutMs,
    `delivery ${deliveryId} was not tried ${attempts} time(s)`,
  );
}

/**
 * One poll for every delivery an app's tests are waiting on: a burst of a hundred deliveries is one query a step,
 * not a hundred, so the waiting never takes the processor's turn at the database (PGlite has one session).
 */
export class InboxSettler {
  readonly #waiting = new Map<
    string,
    { resolve: () => void; reject: (error: Error) => void; deadline: number; timeoutMs: number }
  >();
  #step = FIRST_STEP_MS;
  #polling = false;

  constructor(
    private readonly db: Queryable,
    private readonly appId: number,
  ) {}

  /** Until the delivery is processed (or set aside after every try). */
  settled(deliveryId: string, timeoutMs = 30_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(deliveryId, { resolve, reject, deadline: Date.now() + timeoutMs, timeoutMs });
      this.#step = FIRST_STEP_MS;
      if (!this.#polling) void this.#poll();
    });
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      while (this.#waiting.size > 0) {
        const ids = [...this.#waiting.keys()];
        let found: Map<string, { done: boolean; state: string }>;
        try {
          found = await settledStates(this.db, this.appId, ids);
        } catch (error) {
          for (const [, waiter] of this.#waiting)
            waiter.reject(error instanceof Error ? error : new Error(String(error)));
          this.#waiting.clear();
          return;
        }
        const now = Date.now();
        for (const id of ids) {
          const waiter = this.#waiting.get(id);
          const row = found.get(id);
          if (!waiter) continue;
          if (row?.done) {
            this.#waiting.delete(id);
            waiter.resolve();
          } else if (now > waiter.deadline) {
            this.#waiting.delete(id);
            waiter.reject(
              new Error(
                `delivery ${id} was not processed within ${waiter.timeoutMs} ms; still: ${row?.state ?? "not in the inbox"}`,
              ),
            );
          }
        }
        if (this.#waiting.size === 0) return;
        await new Promise((resolve) => setTimeout(resolve, this.#step));
        this.#step = Math.min(LAST_STEP_MS, this.#step * 1.5);
      }
    } finally {
      this.#polling = false;
    }
  }
}
