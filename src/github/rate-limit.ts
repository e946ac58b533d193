/**
 * GitHub's rate limits, read from every response: `x-ratelimit-remaining` and
 * `x-ratelimit-reset` (the primary limit) and 403/429 answers with
 * `retry-after` or a "secondary rate limit" message. Calls slow down before
 * GitHub refuses: below `threshold` remaining, the rest of the window is
 * spread over the calls left; at zero, or after a refusal, calls wait for the
 * reset. One instance per process; state per installation.
 */

export interface RateLimitClock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface RateLimitOptions extends Partial<RateLimitClock> {
  /** Below this many calls left in the window, calls are spread until the reset (default 100). */
  threshold?: number;
}

/** What one GitHub answer said about the limits. */
export interface RateLimitAnswer {
  status: number;
  headers: Record<string, string | number | undefined>;
  message?: string;
}

interface Window {
  /** The window's size (x-ratelimit-limit). */
  limit: number | undefined;
  /** Calls counted in the window so far (x-ratelimit-used). */
  used: number | undefined;
  remaining: number | undefined;
  resetAt: number | undefined;
  /** No call before this time (a refusal or an exhausted window). */
  pausedUntil: number;
}

/** Below this share of its limit left, an installation's non-urgent reads (reconciliation) wait for the reset. */
export const LOW_SHARE = 0.1;

/** One installation's window as GitHub last answered. */
export interface WindowState {
  installationId: number;
  limit: number | undefined;
  remaining: number;
  used: number | undefined;
  resetAt: Date | undefined;
}

/** A secondary limit without retry-after: GitHub asks to wait at least a minute. */
export const SECONDARY_WAIT_MS = 60_000;
const SECONDARY = /secondary rate limit|abuse detection/i;

export class RateLimits {
  readonly #windows = new Map<number, Window>();
  readonly #clock: RateLimitClock;
  readonly #threshold: number;

  constructor(options: RateLimitOptions = {}) {
    this.#clock = {
      now: options.now ?? (() => Date.now()),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref())),
    };
    this.#threshold = options.threshold ?? 100;
  }

  /** Calls left in the current window for an installation, as GitHub last said; undefined before the first answer. */
  remaining(installationId: number): number | undefined {
    return this.#windows.get(installationId)?.remaining;
  }

  /** Every known window, with its limit, use and reset (for the metrics, the database and `doctor`). */
  windows(): WindowState[] {
    return [...this.#windows].flatMap(([installationId, w]) =>
      w.remaining === undefined
        ? []
        : [
            {
              installationId,
              limit: w.limit,
              remaining: w.remaining,
              used: w.used,
              resetAt: w.resetAt === undefined ? undefined : new Date(w.resetAt),
            },
          ],
    );
  }

  /**
   * Until when non-urgent reads of an installation wait: its reset, while
   * less than LOW_SHARE of its limit remains (or it is paused by a refusal);
   * undefined when they may go now. Decisions and writes are not deferred.
   */
  deferUntil(installationId: number): Date | undefined {
    const w = this.#windows.get(installationId);
    if (!w) return undefined;
    const now = this.#clock.now();
    if (w.pausedUntil > now) return new Date(w.pausedUntil);
    if (w.remaining === undefined || w.resetAt === undefined || w.resetAt <= now) return undefined;
    const limit = w.limit ?? 5000;
    return w.remaining < limit * LOW_SHARE ? new Date(w.resetAt) : undefined;
  }

  /** Every installation with a known window (for the metrics). */
  known(): Array<{ installationId: number; remaining: number }> {
    return [...this.#windows].flatMap(([installationId, w]) =>
      w.remaining === undefined ? [] : [{ installationId, remaining: w.remaining }],
    );
  }

  /** How long the next call of an installation should wait, in ms (0: go now). */
  delayFor(installationId: number): number {
    const w = this.#windows.get(installationId);
    if (!w) return 0;
    const now = this.#clock.now();
    if (w.pausedUntil > now) return w.pausedUntil - now;
    if (w.remaining === undefined || w.resetAt === undefined || w.resetAt <= now) return 0;
    if (w.remaining <= 0) return w.resetAt - now;
    if (w.remaining < this.#threshold) return Math.ceil((w.resetAt - now) / (w.remaining + 1));
    return 0;
  }

  /** Wait as long as delayFor says (through the injected sleeper). */
  async before(installationId: number): Promise<void> {
    const delay = this.delayFor(installationId);
    if (delay > 0) await this.#clock.sleep(delay);
  }

  /** Record what an answer (success or refusal) said about the limits. */
  observe(installationId: number, answer: RateLimitAnswer): void {
    const w = this.#windows.get(installationId) ?? {
      limit: undefined,
      used: undefined,
      remaining: undefined,
      resetAt: undefined,
      pausedUntil: 0,
    };
    const remaining = numberHeader(answer.headers["x-ratelimit-remaining"]);
    const reset = numberHeader(answer.headers["x-ratelimit-reset"]);
    const limit = numberHeader(answer.headers["x-ratelimit-limit"]);
    const used = numberHeader(answer.headers["x-ratelimit-used"]);
    if (limit !== undefined) w.limit = limit;
    if (used !== undefined) w.used = used;
    if (remaining !== undefined) w.remaining = remaining;
    if (reset !== undefined) w.resetAt = reset * 1000;
    const wait = refusalWaitMs(answer, this.#clock.now());
    if (wait !== undefined) w.pausedUntil = Math.max(w.pausedUntil, this.#clock.now() + wait);
    this.#windows.set(installationId, w);
  }
}

/**
 * When an answer is a rate-limit refusal, how long to wait before trying
 * again (ms); undefined for any other answer. retry-after wins; an exhausted
 * primary window waits for its reset; a secondary limit without either, a minute.
 */
export function refusalWaitMs(answer: RateLimitAnswer, now: number): number | undefined {
  if (answer.status !== 403 && answer.status !== 429) return undefined;
  const retryAfter = numberHeader(answer.headers["retry-after"]);
  if (retryAfter !== undefined && retryAfter >= 0) return retryAfter * 1000;
  const remaining = numberHeader(answer.headers["x-ratelimit-remaining"]);
  const reset = numberHeader(answer.headers["x-ratelimit-reset"]);
  if (remaining === 0 && reset !== undefined) return Math.max(0, reset * 1000 - now);
  if (SECONDARY.test(answer.message ?? "") || answer.status === 429) return SECONDARY_WAIT_MS;
  return undefined;
}

/** The refusal wait of an Octokit error (RequestError carries status, response headers and message). */
export function errorWaitMs(error: unknown, now: number): number | undefined {
  const e = error as {
    status?: unknown;
    message?: unknown;
    response?: { headers?: Record<string, string | number | undefined> };
  };
  if (typeof e?.status !== "number") return undefined;
  return refusalWaitMs(
    { status: e.status, headers: e.response?.headers ?? {}, message: typeof e.message === "string" ? e.message : "" },
    now,
  );
}

function numberHeader(value: string | number | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
