import type { Probot } from "probot";
import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import type { Router } from "./http/router.ts";
import { OutboxWorker } from "./outbox/worker.ts";
import { AgentHints } from "./gates/agent-hints.ts";
import type { InboxProcessor } from "./webhooks/processor.ts";
import type { RefusalLog } from "./webhooks/refusals.ts";
import { reconcilePending, type ReconcileResult } from "./webhooks/reconcile.ts";
import { sweepDeliveryLog, type RecoveryDeps, type SweepResult } from "./webhooks/recover.ts";
import type { PipelineSettings, Settings } from "./config/settings.ts";
import { agentGate } from "./index.ts";
import { witnessMetrics } from "./audit/witness-metrics.ts";
import { DecisionWaiter } from "./proposals/wait.ts";
import { parseKeyring, type Keyring } from "./crypto/keyring.ts";
import { currentSigner } from "./keys/store.ts";
import { createResolver } from "./sites/dns-check.ts";
import { GateError } from "./errors.ts";
import { createMetrics, instrumentGitHub, type GateMetrics } from "./metrics.ts";
import { DeniedUses } from "./tokens/denied-uses.ts";
import { logDecisionsTo } from "./audit/decision-log.ts";
import { RateLimits } from "./github/rate-limit.ts";
import type { EtagStore } from "./github/etag-store.ts";
import { inboxState } from "./webhooks/inbox.ts";
import { startMetricsServer } from "./api/metrics-server.ts";
import { AppCredentials } from "./github/app-credentials.ts";
import { Notifier } from "./notify/notifier.ts";
import { installationVoteSources } from "./gates/vote-sources.ts";
import { notifyMetrics } from "./notify/notify-metrics.ts";
import { gateRoutes } from "./server-routes.ts";
import { startGateLoops } from "./server-loops.ts";
import { gateGitHub } from "./server-github.ts";
import { gateRouter, listenHttp } from "./server-http.ts";
import { gateInbox } from "./server-inbox.ts";

export interface GateServerOptions {
  db: Database;
  /** A Probot configured with the App's id, key, webhook secret and GitHub base URL. */
  probot: Probot;
  appId: number;
  secret: string;
  /** The app's settings, read from the environment once (src/config/settings.ts). */
  settings: Settings;
  log: Logger;
  now?: () => Date;
  port?: number;
  host?: string;
  /** Gap between two GitHub writes of one installation (default 1000 ms). */
  paceMs?: number;
  retryBaseMs?: number;
  startWorker?: boolean;
  /** Keyring for encryption at rest (receipt-signing key); see resolveKeyring. */
  keyring?: Keyring;
  /** Whether this process processes the inbox (default true); off, deliveries are only recorded. */
  startProcessor?: boolean;
  /** Inbox processing, refusal counting, delivery recovery and reconciliation (defaults: the settings' pipeline). */
  pipeline?: Partial<PipelineSettings>;
  /** Prometheus metrics; a fresh registry per server when absent. */
  metrics?: GateMetrics;
  /** GitHub's rate limits as answered (a clock and sleeper of the test's own in tests). */
  rateLimits?: RateLimits;
  /** Gap between two messages to one channel, by channel type (defaults: Slack 1 s, Teams 0.5 s, email 0.2 s, webhooks none). */
  notifyPaceMs?: Partial<Record<"slack" | "teams" | "email" | "webhook", number>>;
  /** Where conditional reads keep GitHub's answers (default: the database). */
  etags?: EtagStore;
}

export interface GateServer {
  url: string;
  port: number;
  worker: OutboxWorker;
  /** The notifications worker: its own queue, apart from GitHub writes. */
  notifier: Notifier;
  processor: InboxProcessor;
  refusals: RefusalLog;
  /** Denied uses of known tokens, gathered and written once per token per interval. */
  deniedUses: DeniedUses;
  /** Sweep GitHub's delivery log now (it also runs at start-up and every interval). */
  recover(): Promise<SweepResult>;
  /** Re-read pending proposals' pull requests from GitHub now (also at start-up and every interval). */
  reconcile(): Promise<ReconcileResult>;
  router: Router;
  metrics: GateMetrics;
  /** Where /metrics is served when AGENT_GATE_METRICS_PORT sets a port of its own. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/**
 * One HTTP server for webhooks and the app's own routes. Webhooks go to our
 * ingest (signature, ledger, audit) which hands them to Probot's handlers;
 * everything else goes to the router. This function wires the parts; every
 * periodic job starts in startGateLoops (server-loops.ts), with one stop.
 */
export async function startGateServer(o: GateServerOptions): Promise<GateServer> {
  const now = o.now ?? (() => new Date());
  const port = o.port ?? 3000;
  const host = o.host ?? "0.0.0.0";
  let publicUrl = o.settings.publicUrl ?? "";

  let waiting = () => 0;
  const rateLimits = o.rateLimits ?? new RateLimits({ now: () => now().getTime() });
  // The deliveries queue is the durable inbox: acknowledged, not yet processed (all replicas).
  const inboxQueue = async () => {
    const state = await inboxState(o.db);
    return { depth: state.open, oldest: state.oldest ? new Date(state.oldest) : null, setAside: state.setAside };
  };
  const metrics =
    o.metrics ?? createMetrics({ db: o.db, now, waiters: () => waiting(), rateLimits, deliveries: inboxQueue });
  const github = await gateGitHub({ probot: o.probot, db: o.db, now, log: o.log, metrics, rateLimits, etags: o.etags });
  const worker = new OutboxWorker({
    db: o.db,
    github,
    now,
    log: o.log.child({ name: "outbox" }),
    get publicUrl() {
      return publicUrl;
    },
    // The app's keyring (start.ts resolves it, PGlite's data dir included), else the environment's.
    keyring: o.keyring ?? (o.settings.keys ? parseKeyring(o.settings.keys) : null),
    ...(o.paceMs === undefined ? {} : { paceMs: o.paceMs }),
    ...(o.retryBaseMs === undefined ? {} : { retryBaseMs: o.retryBaseMs }),
  });

  const notifyKeyring = o.keyring ?? (o.settings.keys ? parseKeyring(o.settings.keys) : null);
  const sentOrFailed = notifyMetrics(metrics.registry, o.db);
  const countWitness = witnessMetrics(metrics.registry, o.db);
  const notifier = new Notifier({
    db: o.db,
    keyring: notifyKeyring,
    now,
    log: o.log.child({ name: "notify" }),
    publicUrl: () => publicUrl,
    slackApiUrl: o.settings.slackApiUrl,
    readConfig: (installationId, proposal) => installationVoteSources(github, now, installationId, proposal).config(),
    count: sentOrFailed,
    ...(o.retryBaseMs === undefined ? {} : { retryBaseMs: o.retryBaseMs }),
    ...(o.notifyPaceMs ? { paceMs: o.notifyPaceMs } : {}),
  });

  const deps = {
    db: o.db,
    appId: o.appId,
    now,
    log: o.log,
    agentHints: new AgentHints(),
    // This process's worker starts on a write its own handler queued without waiting for the NOTIFY to come back.
    queued: () => worker.kick(),
    get publicUrl() {
      return publicUrl;
    },
  };
  await o.probot.load(agentGate(deps));

  const router = gateRouter(o.log);
  // Publish the receipt-signing key from the start, so executors can fetch it before the first receipt.
  if (o.keyring) await currentSigner(o.db, o.keyring, now());
  const waiter = new DecisionWaiter(o.db);
  await waiter.start();
  waiting = () => waiter.watching;
  const deniedUses = new DeniedUses({
    db: o.db,
    now,
    count: (reason) => metrics.tokenDenied.inc({ reason }),
    // The 401 is the same for unknown, revoked and expired tokens; only the operator's log says which.
    logged: (use) =>
      o.log.info(
        { installation_id: use.installationId, token_prefix: use.prefix, reason: use.reason },
        `agent token refused (401): it is ${use.reason}`,
      ),
    onError: (error) => o.log.error({ err: error }, "writing denied token uses failed"),
  });
  deniedUses.start();
  const resolver = createResolver(o.settings.dns);
  // A key GitHub refuses (another App's, or revoked) is not ready: the delivery-log sweep asks GitHub as the App.
  const appCredentials = new AppCredentials();
  const signer = async () => {
    if (!o.keyring)
      throw new GateError("keyring_missing", "No keyring is configured: set AGENT_GATE_KEYS.", { status: 503 });
    return currentSigner(o.db, o.keyring, now());
  };
  router.add(
    ...gateRoutes({
      db: o.db,
      now,
      settings: o.settings,
      log: o.log,
      keyring: o.keyring,
      notifyKeyring,
      metrics,
      worker,
      notifier,
      deniedUses,
      waiter,
      github,
      publicUrl: () => publicUrl,
      appCredentials,
      resolver,
      signer,
    }),
  );

  const pipelineSettings = { ...o.settings.pipeline, ...o.pipeline };
  const {
    webhooks,
    refusals,
    processor,
    metrics: pipeline,
  } = gateInbox({ ...o, now, metrics, settings: pipelineSettings });
  const stopDecisionLog = logDecisionsTo(o.log);
  const { server, port: listening } = await listenHttp({ log: o.log, metrics, router, webhooks }, port, host);
  const metricsServer =
    o.settings.metricsPort !== undefined
      ? await startMetricsServer(metrics.registry, o.settings.metricsPort, host)
      : undefined;
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${listening}`;
  if (!publicUrl) publicUrl = url;
  const recovery: RecoveryDeps = {
    db: o.db,
    appId: o.appId,
    app: async () => instrumentGitHub(appCredentials.watch(await o.probot.auth()), metrics),
    now,
    log: o.log.child({ name: "recovery" }),
    holder: `recovery-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
    metrics: pipeline,
  };
  const reconciliation = {
    db: o.db,
    appId: o.appId,
    github,
    now,
    log: o.log.child({ name: "reconcile" }),
    rateLimits,
  };
  const stopLoops = await startGateLoops({
    db: o.db,
    now,
    log: o.log,
    keyring: o.keyring,
    rateLimits,
    refusals,
    ...(o.startProcessor === false
      ? {}
      : {
          inbox: {
            processor,
            recovery,
            reconciliation,
            recoveryIntervalMs: pipelineSettings.recoveryIntervalMs,
            reconcileIntervalMs: pipelineSettings.reconcileIntervalMs,
          },
        }),
    ...(o.startWorker === false
      ? {}
      : {
          queues: {
            worker,
            notifier,
            sweepIntervalMs: o.settings.sweepIntervalMs,
            signer,
            countWitness,
            resolver,
            github,
          },
        }),
  });
  o.log.info({ url }, "Agent Gate is listening");

  return {
    url,
    port: listening,
    worker,
    notifier,
    processor,
    refusals,
    deniedUses,
    recover: () => sweepDeliveryLog(recovery),
    reconcile: () => reconcilePending(reconciliation),
    router,
    metrics,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    async close() {
      stopDecisionLog();
      await metricsServer?.close();
      server.closeAllConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await stopLoops();
      await waiter.close();
      await deniedUses
        .stop()
        .catch((error: unknown) => o.log.error({ err: error }, "writing denied token uses failed"));
      await closed;
    },
  };
}
