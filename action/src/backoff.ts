import type { Clock } from "./clock.ts";
import { ApiError, NetworkError } from "./errors.ts";

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): exponential, capped, with
 * "equal jitter" (half fixed, half random) so many runners that lost the same
 * server do not come back in step.
 */
export function backoffDelay(attempt: number, random: () => number, policy: BackoffPolicy = defaultBackoff): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Network failures, 5xx and 429 are worth retrying; everything else is final. */
export function isRetryable(thrown: unknown): boolean {
  return thrown instanceof NetworkError || (thrown instanceof ApiError && thrown.retryable);
}

export interface RetryOptions {
  clock: Clock;
  deadline: number;
  policy?: BackoffPolicy;
  onRetry: (error: unknown, delayMs: number) => void;
}

/**
 * Calls `fn` until it succeeds, retrying retryable failures with backoff. Gives
 * up with the last error when the next attempt would start after `deadline`.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (thrown) {
      if (!isRetryable(thrown)) throw thrown;
      const delay = backoffDelay(attempt, options.clock.random, options.policy);
      if (options.clock.now() + delay >= options.deadline) throw thrown;
      options.onRetry(thrown, delay);
      await options.clock.sleep(delay);
    }
  }
}
