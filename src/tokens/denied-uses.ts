import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { hashedTokenFromSha256 } from "./format.ts";

/** Why a known token was refused. */
export type DeniedReason = "revoked" | "expired" | "uninstalled";

export interface DeniedUse {
  installationId: number;
  prefix: string;
  sha256: string;
  reason: DeniedReason;
}

/** Starts a repeating timer; returns how to stop it. Injected by tests. */
export type Schedule = (tick: () => void, everyMs: number) => () => void;

export interface DeniedUsesOptions {
  db: Database;
  now: () => Date;
  /** How long uses of one token are gathered into one audit event (default one minute). */
  intervalMs?: number;
  schedule?: Schedule;
  /** Counts every denied use, by reason (the agent_gate_token_denied_total metric). */
  count?: (reason: DeniedReason) => void;
  /** Tells the operator's log why a known token was refused (the caller's 401 never says). */
  logged?: (use: DeniedUse) => void;
  onError?: (error: unknown) => void;
}

interface Tally {
  installationId: number;
  prefix: string;
  sha256: string;
  count: number;
  reasons: Partial<Record<DeniedReason, number>>;
  firstAt: Date;
  lastAt: Date;
}

/** Past this many distinct tokens in one interval, further ones are only counted by the metric. */
const MAX_TOKENS_PER_INTERVAL = 10_000;

const everyInterval: Schedule = (tick, everyMs) => {
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Denied uses of known tokens, gathered in memory and written as one
 * `token.use_denied` audit event per token per interval, so a refusal costs
 * the request no database write and a caller retrying a revoked token cannot
 * make the audit log grow by a row per request.
 */
export class DeniedUses {
  readonly #o: DeniedUsesOptions;
  readonly #tallies = new Map<string, Tally>();
  #stop: (() => void) | undefined;
  #flushing: Promise<number> = Promise.resolve(0);

  constructor(options: DeniedUsesOptions) {
    this.#o = options;
  }

  get intervalMs(): number {
    return this.#o.intervalMs ?? 60_000;
  }

  /** Records a denied use in memory only; constant work whatever the token. */
  note(use: DeniedUse): void {
    this.#o.count?.(use.reason);
    this.#o.logged?.(use);
    const key = `${use.installationId}:${use.sha256}`;
    let tally = this.#tallies.get(key);
    const at = this.#o.now();
    if (!tally) {
      if (this.#tallies.size >= MAX_TOKENS_PER_INTERVAL) return;
      tally = {
        installationId: use.installationId,
        prefix: use.prefix,
        sha256: use.sha256,
        count: 0,
        reasons: {},
        firstAt: at,
        lastAt: at,
      };
      this.#tallies.set(key, tally);
    }
    tally.count += 1;
    tally.reasons[use.reason] = (tally.reasons[use.reason] ?? 0) + 1;
    tally.lastAt = at;
  }

  /** Uses noted and not yet written. */
  get pending(): number {
    let n = 0;
    for (const tally of this.#tallies.values()) n += tally.count;
    return n;
  }

  /** Starts the interval timer (once). */
  start(): void {
    if (this.#stop) return;
    this.#stop = (this.#o.schedule ?? everyInterval)(() => {
      this.flush().catch((error: unknown) => this.#o.onError?.(error));
    }, this.intervalMs);
  }

  /** Stops the timer and writes what is pending (at shutdown). */
  async stop(): Promise<void> {
    this.#stop?.();
    this.#stop = undefined;
    await this.flush();
  }

  /**
   * Writes one audit event per token with uses since the last flush; returns
   * how many events were written. Tallies that could not be written are kept
   * for the next flush.
   */
  flush(): Promise<number> {
    const run = this.#flushing.catch(() => 0).then(() => this.#write());
    this.#flushing = run;
    return run;
  }

  async #write(): Promise<number> {
    if (this.#tallies.size === 0) return 0;
    const taken = [...this.#tallies.values()];
    this.#tallies.clear();
    const now = this.#o.now();
    let written = 0;
    for (const [index, tally] of taken.entries()) {
      try {
        await this.#o.db.tenant(tally.installationId, (tx) =>
          appendAudit(
            tx,
            tally.installationId,
            {
              action: "token.use_denied",
              outcome: "denied",
              actor: `token:${tally.prefix}`,
              actorIsAgent: true,
              subject: tally.prefix,
              data: {
                count: tally.count,
                reasons: tally.reasons,
                hashed_token: hashedTokenFromSha256(tally.sha256),
                prefix: tally.prefix,
                first_at: tally.firstAt.toISOString(),
                last_at: tally.lastAt.toISOString(),
                interval_seconds: Math.round(this.intervalMs / 1000),
              },
            },
            now,
          ),
        );
        written += 1;
      } catch (error) {
        for (const rest of taken.slice(index)) this.#restore(rest);
        throw error;
      }
    }
    return written;
  }

  #restore(tally: Tally): void {
    const key = `${tally.installationId}:${tally.sha256}`;
    const current = this.#tallies.get(key);
    if (!current) {
      this.#tallies.set(key, tally);
      return;
    }
    current.count += tally.count;
    for (const [reason, n] of Object.entries(tally.reasons) as [DeniedReason, number][]) {
      current.reasons[reason] = (current.reasons[reason] ?? 0) + n;
    }
    if (tally.firstAt < current.firstAt) current.firstAt = tally.firstAt;
  }
}

const fallbacks = new WeakMap<Database, DeniedUses>();

/** The recorder of a database when the caller wired none: gathered the same way, flushed by an unref'd timer. */
export function deniedUsesFor(db: Database, now: () => Date): DeniedUses {
  let recorder = fallbacks.get(db);
  if (!recorder) {
    recorder = new DeniedUses({ db, now });
    recorder.start();
    fallbacks.set(db, recorder);
  }
  return recorder;
}
