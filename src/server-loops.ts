import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import type { Keyring } from "./crypto/keyring.ts";
import type { Signer } from "./crypto/signer.ts";
import { startLoop, type Loop } from "./loop.ts";
import { expireDue } from "./gates/expiry.ts";
import { checkpointDue } from "./audit/checkpoint-store.ts";
import { witnessDue, type WitnessOutcome } from "./audit/witness-sweep.ts";
import { commitWitnessesDue } from "./outbox/witness-commit.ts";
import type { GitHubFactory } from "./github/narrowed.ts";
import { startReplicaHeartbeat } from "./keys/replicas.ts";
import type { RateLimits } from "./github/rate-limit.ts";
import { saveRateWindows } from "./github/rate-limit-store.ts";
import type { TxtResolver } from "./sites/dns-check.ts";
import { startSiteRecheck } from "./sites/recheck-timer.ts";
import type { InboxProcessor } from "./webhooks/processor.ts";
import type { RefusalLog } from "./webhooks/refusals.ts";
import { startRecovery, type RecoveryDeps } from "./webhooks/recover.ts";
import { startReconcile, type ReconcileDeps } from "./webhooks/reconcile.ts";
import type { OutboxWorker } from "./outbox/worker.ts";
import type { Notifier } from "./notify/notifier.ts";

/** What the periodic jobs of one app process work with; server.ts wires it. */
export interface GateLoopsDeps {
  db: Database;
  now: () => Date;
  log: Logger;
  keyring: Keyring | undefined;
  rateLimits: RateLimits;
  refusals: RefusalLog;
  /** The inbox's jobs, when this process processes deliveries. */
  inbox?: {
    processor: InboxProcessor;
    recovery: RecoveryDeps;
    reconciliation: ReconcileDeps;
    /** 0 turns a sweep off. */
    recoveryIntervalMs: number;
    reconcileIntervalMs: number;
  };
  /** The queues' workers and the sweeps, when this process runs them. */
  queues?: {
    worker: OutboxWorker;
    notifier: Notifier;
    sweepIntervalMs: number;
    signer: () => Promise<Signer>;
    countWitness: (outcome: WitnessOutcome) => void;
    resolver: TxtResolver;
    /** Installation clients, for the repository witnesses' commits. */
    github: GitHubFactory;
  };
}

/** How often the rate-limit windows are written to the database. */
const RATE_WINDOWS_SAVE_MS = 15_000;

/**
 * Starts every periodic job of the app process; the stop it returns ends them
 * in order (what feeds the queues first), each waiting for its run in flight.
 */
export async function startGateLoops(d: GateLoopsDeps): Promise<() => Promise<void>> {
  // This replica's key ids, so `keys rotate` can refuse while it lacks the new key.
  const heartbeat = d.keyring
    ? await startReplicaHeartbeat(d.db, d.keyring, { now: d.now, log: d.log.child({ name: "replicas" }) })
    : undefined;
  d.refusals.start();
  const inbox = d.inbox ? await startInboxLoops(d.inbox) : [];
  const sweeps = d.queues ? await startQueueLoops(d, d.queues) : [];
  // GitHub's rate-limit windows as this process saw them, kept in the database for `agent-gate doctor`.
  const saveWindows = () => saveRateWindows(d.db, d.rateLimits.windows(), d.now());
  const windows = startLoop("rate-limit windows save", saveWindows, RATE_WINDOWS_SAVE_MS, d.log);

  return async () => {
    await heartbeat?.stop();
    for (const loop of [...sweeps, ...inbox]) await loop.stop();
    await d.inbox?.processor.stop();
    await d.refusals.stop();
    await d.queues?.worker.stop();
    await d.queues?.notifier.stop();
    await windows.stop();
    await saveWindows().catch((error: unknown) =>
      d.log.warn({ err: error }, "recording GitHub's rate-limit windows at shutdown failed"),
    );
  };
}

/** The processor, then GitHub's delivery log swept and pending proposals reconciled, at start-up and every interval. */
async function startInboxLoops(inbox: NonNullable<GateLoopsDeps["inbox"]>): Promise<Loop[]> {
  await inbox.processor.start();
  const loops: Loop[] = [];
  // GitHub does not redeliver failed deliveries: read the App's delivery log at start-up and every interval.
  if (inbox.recoveryIntervalMs > 0) loops.push(startRecovery(inbox.recovery, inbox.recoveryIntervalMs));
  // What is lost beyond GitHub's log still converges: pending proposals re-read from GitHub.
  if (inbox.reconcileIntervalMs > 0)
    loops.push(startReconcile(inbox.reconciliation, inbox.reconcileIntervalMs, inbox.recovery.holder));
  return loops;
}

/** The outbox worker and the notifier, then the expiry, checkpoint, witness and site re-check sweeps. */
async function startQueueLoops(d: GateLoopsDeps, queues: NonNullable<GateLoopsDeps["queues"]>): Promise<Loop[]> {
  await queues.worker.start();
  await queues.notifier.start();
  // The same interval signs a checkpoint of every tree that grew: at least one a minute while events are written.
  const every = Math.min(queues.sweepIntervalMs, 60_000);
  const loops = [startLoop("expiry sweep", () => expireDue(d.db, d.now()), every, d.log)];
  if (d.keyring)
    loops.push(startLoop("checkpoint and witness sweep", () => checkpointThenWitness(d, queues), every, d.log));
  loops.push(startSiteRecheck(d.db, { resolver: queues.resolver }, { now: d.now, log: d.log }));
  return loops;
}

/**
 * Signs a checkpoint of every tree that grew, then sends each witness behind
 * the latest checkpoint it (with backoff when it was down), and commits it to
 * each repository witness's branch, even when signing failed: a witness behind
 * an older checkpoint still gets that one.
 */
async function checkpointThenWitness(d: GateLoopsDeps, queues: NonNullable<GateLoopsDeps["queues"]>): Promise<void> {
  const signing = await checkpointDue(d.db, queues.signer, d.now()).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  const failures = signing ? [signing.error] : [];
  await witnessDue({ db: d.db, fetch, now: d.now, count: queues.countWitness }).catch((error: unknown) =>
    failures.push(error),
  );
  await commitWitnessesDue({ db: d.db, github: queues.github, now: d.now, count: queues.countWitness }).catch(
    (error: unknown) => failures.push(error),
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, "checkpoint and witness sweeps failed");
}
