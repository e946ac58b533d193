import type { Database } from "../db/database.ts";
import { DECIDED_CHANNEL } from "./store.ts";

export interface Watch {
  /** Resolves true when a decision for the proposal is announced, false after `ms` or on abort. */
  next(ms: number, signal?: AbortSignal): Promise<boolean>;
  cancel(): void;
}

/**
 * Wakes long-polls when a decision is announced. One LISTEN per process on
 * `agent_gate_decided` (payload: proposal id): decision writers notify in the
 * transaction that decides, so a decision taken by any app process sharing the
 * database wakes the polls here once it commits.
 */
export class DecisionWaiter {
  readonly #db: Database;
  readonly #watchers = new Map<string, Set<() => void>>();
  #listening: Promise<() => Promise<void>> | null = null;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Start listening; idempotent. */
  async start(): Promise<void> {
    if (!this.#listening) {
      this.#listening = this.#db
        .listen(
          DECIDED_CHANNEL,
          (id) => this.#wake(id),
          () => this.#wakeAll(),
        )
        .catch((error: unknown) => {
          this.#listening = null;
          throw error;
        });
    }
    await this.#listening;
  }

  /**
   * Watch a proposal. Take the watch before reading its state, so a decision
   * committed between the read and the wait is not missed.
   */
  watch(id: string): Watch {
    let signalled = false;
    let wakeCurrent: (() => void) | null = null;
    const onDecided = () => {
      signalled = true;
      wakeCurrent?.();
    };
    let set = this.#watchers.get(id);
    if (!set) {
      set = new Set();
      this.#watchers.set(id, set);
    }
    set.add(onDecided);
    const cancel = () => {
      const current = this.#watchers.get(id);
      current?.delete(onDecided);
      if (current?.size === 0) this.#watchers.delete(id);
    };
    return {
      cancel,
      next: (ms, signal) =>
        new Promise<boolean>((resolve) => {
          if (signalled || signal?.aborted) {
            const was = signalled;
            signalled = false;
            resolve(was);
            return;
          }
          const finish = (value: boolean) => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            wakeCurrent = null;
            signalled = false;
            resolve(value);
          };
          const onAbort = () => finish(false);
          const timer = setTimeout(() => finish(false), Math.max(0, ms));
          signal?.addEventListener("abort", onAbort, { once: true });
          wakeCurrent = () => finish(true);
        }),
    };
  }

  /** Number of proposals currently watched (for metrics and tests). */
  get watching(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    const listening = this.#listening;
    this.#listening = null;
    if (listening) await (await listening.catch(() => async () => {}))();
  }

  /** Every waiter re-reads (decisions announced while the listener was reconnecting were missed). */
  #wakeAll(): void {
    for (const set of this.#watchers.values()) for (const onDecided of set) onDecided();
  }

  #wake(id: string): void {
    for (const onDecided of this.#watchers.get(id) ?? []) onDecided();
  }
}
