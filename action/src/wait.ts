import type { ProposalState } from "./api-types.ts";
import { backoffDelay, isRetryable, type BackoffPolicy } from "./backoff.ts";
import type { GateClient } from "./client.ts";
import type { Clock } from "./clock.ts";

export type DecidedState = ProposalState & { status: Exclude<ProposalState["status"], "pending"> };

export type WaitResult = { outcome: "decided"; state: DecidedState } | { outcome: "timeout"; lastError?: unknown };

export interface WaitOptions {
  clock: Clock;
  deadline: number;
  waitSeconds: number;
  policy?: BackoffPolicy;
  onPending: (state: ProposalState) => void;
  onRetry: (error: unknown, delayMs: number) => void;
}

/**
 * Waits for a decision through the long-poll endpoint. Each request asks the
 * server to hold it for one window; at most one request is made per window,
 * even when the server answers early. Network failures, 5xx and 429 reconnect
 * with backoff; any other failure ends the wait by throwing.
 */
export async function waitForDecision(client: GateClient, id: string, options: WaitOptions): Promise<WaitResult> {
  const { clock, deadline } = options;
  let attempt = 0;
  let lastError: unknown;
  for (;;) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) return { outcome: "timeout", lastError };
    const windowSeconds = Math.max(1, Math.min(options.waitSeconds, Math.ceil(remaining / 1000)));
    const windowStart = clock.now();
    let state: ProposalState;
    try {
      state = await client.get(id, windowSeconds);
    } catch (thrown) {
      if (!isRetryable(thrown)) throw thrown;
      lastError = thrown;
      const delay = backoffDelay(attempt, clock.random, options.policy);
      attempt += 1;
      if (clock.now() + delay >= deadline) return { outcome: "timeout", lastError };
      options.onRetry(thrown, delay);
      await clock.sleep(delay);
      continue;
    }
    attempt = 0;
    lastError = undefined;
    if (isDecided(state)) return { outcome: "decided", state };
    options.onPending(state);
    const early = windowSeconds * 1000 - (clock.now() - windowStart);
    if (early > 0) await clock.sleep(Math.min(early, Math.max(0, deadline - clock.now())));
  }
}

function isDecided(state: ProposalState): state is DecidedState {
  return state.status !== "pending";
}
