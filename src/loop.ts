import type { Logger } from "pino";
import { Counter } from "prom-client";

/**
 * Failed runs of every periodic job of this process, by loop name. It belongs to no registry of its own: each
 * server's registry exposes it (metrics.ts), so a failure is counted wherever it happens.
 */
export const loopFailures = new Counter({
  name: "agent_gate_loop_failures_total",
  help: "Failed runs of a periodic job (sweeps, workers' passes, heartbeats), by loop; the loop runs again.",
  labelNames: ["loop"] as const,
  registers: [],
});

/** A periodic job, started by startLoop. */
export interface Loop {
  /** Run now: at once when idle, else once more right after the run in flight. */
  kick(): void;
  /** No further run; resolves once the run in flight (if any) has ended. */
  stop(): Promise<void>;
}

export interface LoopOptions {
  /** Run once as soon as started (default: the first run is one interval away). */
  atStart?: boolean;
}

/**
 * Runs `fn` every `every` ms, never two runs at once: a tick that finds the last run still going is skipped. A
 * failed run is logged and counted (agent_gate_loop_failures_total), and the loop goes on. `fn` gets a signal
 * aborted by stop(), so a long run can end between two steps. The timer never keeps the process alive.
 */
export function startLoop(
  name: string,
  fn: (stopping: AbortSignal) => Promise<unknown>,
  every: number,
  log: Logger,
  options: LoopOptions = {},
): Loop {
  const stopping = new AbortController();
  let inFlight: Promise<void> | undefined;
  let again = false;

  const runOnce = async (): Promise<void> => {
    try {
      await fn(stopping.signal);
    } catch (error) {
      loopFailures.inc({ loop: name });
      log.error({ err: error, loop: name }, `${name} failed; it runs again`);
    }
  };
  const runUntilQuiet = async (): Promise<void> => {
    do {
      again = false;
      await runOnce();
    } while (again && !stopping.signal.aborted);
  };
  const begin = (coalesce: boolean): void => {
    if (stopping.signal.aborted) return;
    if (inFlight) {
      again ||= coalesce;
      return;
    }
    inFlight = runUntilQuiet().finally(() => (inFlight = undefined));
  };

  const timer = setInterval(() => begin(false), every);
  timer.unref();
  if (options.atStart) begin(false);
  return {
    kick: () => begin(true),
    async stop() {
      stopping.abort();
      clearInterval(timer);
      await inFlight;
    },
  };
}

/**
 * A queue's worker: wakes on its channel's NOTIFY (and on reconnecting), on a kick and every `every` ms, then
 * claims and performs jobs with `claimOne` until none is ready. `listen` subscribes a wake-up and returns how to
 * unsubscribe. Stopping ends the pass between two jobs.
 */
export async function startClaimLoop(
  name: string,
  claimOne: () => Promise<boolean>,
  every: number,
  log: Logger,
  listen: (wake: () => void) => Promise<() => Promise<void>>,
): Promise<Loop> {
  const loop = startLoop(
    name,
    async (stopping) => {
      while (!stopping.aborted && (await claimOne())) {
        /* keep going while jobs are ready */
      }
    },
    every,
    log,
  );
  // A loop whose wake-ups cannot be subscribed is not started at all.
  const unlisten = await listen(() => loop.kick()).catch(async (error: unknown) => {
    await loop.stop();
    throw error;
  });
  loop.kick();
  return {
    kick: () => loop.kick(),
    async stop() {
      await unlisten();
      await loop.stop();
    },
  };
}
