import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Probot } from "probot";
import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import { Router } from "./http/router.ts";
import { healthRoutes } from "./api/health-routes.ts";
import { sendError } from "./http/io.ts";
import { webhookHandler } from "./webhooks/receive.ts";
import { OutboxWorker } from "./outbox/worker.ts";
import { AgentHints } from "./gates/agent-hints.ts";
import { InboxWriter } from "./webhooks/inbox.ts";
import { InboxProcessor } from "./webhooks/processor.ts";
import { RefusalLog } from "./webhooks/refusals.ts";
import { pipelineMetrics } from "./webhooks/webhook-metrics.ts";
import { reconcilePending, startReconcile, type ReconcileResult } from "./webhooks/reconcile.ts";
import {
  startRecovery,
  sweepDeliveryLog,
  type AppClient,
  type RecoveryDeps,
  type SweepResult,
} from "./webhooks/recover.ts";
import type { PipelineSettings, Settings } from "./config/settings.ts";
import type { GitHubClient } from "./github/client.ts";
import { expireDue } from "./gates/expiry.ts";
import { agentGate } from "./index.ts";
import { apiRoutes } from "./api/routes.ts";
import { keysRoutes } from "./api/keys-routes.ts";
import { checkpointRoutes } from "./api/checkpoint-routes.ts";
import { checkpointDue } from "./audit/checkpoint-store.ts";
import { witnessDue } from "./audit/witness-sweep.ts";
import { witnessMetrics } from "./audit/witness-metrics.ts";
import { mcpRoutes } from "./mcp/routes.ts";
import { sitesRoutes } from "./api/sites-routes.ts";
import { auditRoutes } from "./api/audit-routes.ts";
import { requireAdmin } from "./requests/auth.ts";
import { DecisionWaiter } from "./proposals/wait.ts";
import { parseKeyring, type Keyring } from "./crypto/keyring.ts";
import { currentSigner } from "./keys/store.ts";
import { createResolver } from "./sites/dns-check.ts";
import { startSiteRecheck } from "./sites/recheck-timer.ts";
import { GateError } from "./errors.ts";
import { countDelivery, createMetrics, instrumentGitHub, type GateMetrics } from "./metrics.ts";
import { metricsRoutes } from "./api/metrics-routes.ts";
import { DeniedUses } from "./tokens/denied-uses.ts";
import { decorateClientsOf } from "./github/narrowed.ts";
import { explainRoutes } from "./api/explain-routes.ts";
import { reviewRoutes } from "./review/routes.ts";
import { accessLog } from "./http/access-log.ts";
import { logDecisionsTo } from "./audit/decision-log.ts";
import { RateLimits } from "./github/rate-limit.ts";
import { watchGitHub } from "./github/watch-calls.ts";
import { conditionalReads } from "./github/conditional-reads.ts";
import { databaseEtagStore, layeredEtagStore, memoryEtagStore, type EtagStore } from "./github/etag-store.ts";
import { saveRateWindows } from "./github/rate-limit-store.ts";
import { inboxState } from "./webhooks/inbox.ts";
import { WEBHOOK_PATH } from "./webhooks/receive.ts";
import { startMetricsServer } from "./api/metrics-server.ts";
import { startReplicaHeartbeat } from "./keys/replicas.ts";
import { missingKeyIds } from "./keys/in-use.ts";
import { AppCredentials } from "./github/app-credentials.ts";
import { Notifier } from "./notify/notifier.ts";
import { installationVoteSources } from "./gates/vote-sources.ts";
import { notifyMetrics } from "./notify/notify-metrics.ts";
import { slackRoutes } from "./notify/slack-routes.ts";
import { channelRoutes } from "./notify/channel-routes.ts";

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

/** How often the rate-limit windows are written to the database. */
const RATE_WINDOWS_SAVE_MS = 15_000;

/**
 * One HTTP server for webhooks and the app's own routes. Webhooks go to our
 * ingest (signature, ledger, audit) which hands them to Probot's handlers;
 * everything else goes to the router.
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
  const countCall = (call: { operation: string; status: number }) =>
    metrics.ops.githubCalls.inc({ operation: call.operation, status: String(call.status) });
  // Every read conditional (ETag), its answers kept in the database for every replica (docs/rate-limit.md).
  const etags = o.etags ?? layeredEtagStore(memoryEtagStore(), databaseEtagStore(o.db, { now }));
  const etagLog = o.log.child({ name: "github-etags" });
  const conditional = (client: GitHubClient, installationId: number) =>
    conditionalReads(client, installationId, etags, {
      onStoreError: (error) => etagLog.warn({ err: error }, "the ETag store failed; the read went without a condition"),
    });
  const watch = (client: GitHubClient, installationId: number) =>
    watchGitHub(instrumentGitHub(conditional(client, installationId), metrics), installationId, rateLimits, countCall);
  // One installation client per installation: its auth hook renews the installation token itself.
  const installationClients = new Map<number, Promise<GitHubClient>>();
  const installationClient = (installationId: number): Promise<GitHubClient> => {
    let client = installationClients.get(installationId);
    if (!client) {
      client = (o.probot.auth(installationId) as Promise<GitHubClient>).then((made) => watch(made, installationId));
      client.catch(() => installationClients.delete(installationId));
      installationClients.set(installationId, client);
    }
    return client;
  };
  const github = Object.assign(installationClient, { decorate: watch });
  // Webhook handlers narrow Probot's context.octokit: their reads and token requests are counted (and paced) too.
  decorateClientsOf((await o.probot.auth()) as unknown as GitHubClient, watch);
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

  const router = new Router((error, ctx) => {
    // The route pattern, never the raw path or query: either can hold an id or a code.
    const request = {
      method: ctx.req.method,
      route: router.routeFor(new URL(ctx.req.url ?? "/", "http://localhost").pathname),
    };
    if (error instanceof GateError && error.status < 500) {
      o.log.debug({ ...request, code: error.code, status: error.status }, "API request refused");
    } else {
      o.log.error({ ...request, err: error }, "API request failed");
    }
  });
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
  const authDeps = { db: o.db, now, settings: o.settings, deniedUses };
  const admin = async (req: import("node:http").IncomingMessage) => {
    const principal = await requireAdmin(authDeps, req);
    return {
      installationId: principal.installationId,
      actor: principal.actor,
      repos: principal.repos,
      kinds: principal.kinds,
    };
  };
  const resolver = createResolver(o.settings.dns);
  // A key GitHub refuses (another App's, or revoked) is not ready: the delivery-log sweep asks GitHub as the App.
  const appCredentials = new AppCredentials();
  const reviewKeyring = o.keyring ?? (o.settings.keys ? parseKeyring(o.settings.keys) : undefined);
  const signer = async () => {
    if (!o.keyring)
      throw new GateError("keyring_missing", "No keyring is configured: set AGENT_GATE_KEYS.", { status: 503 });
    return currentSigner(o.db, o.keyring, now());
  };
  router.add(
    ...healthRoutes({
      db: o.db,
      worker,
      githubApp: () => appCredentials.refused ?? "ok",
      ...(o.keyring ? { missingKeys: () => missingKeyIds(o.db, o.keyring!) } : {}),
    }),
    ...apiRoutes({
      db: o.db,
      now,
      settings: o.settings,
      deniedUses,
      waiter,
      log: o.log,
      publicUrl: () => publicUrl,
      ...(o.keyring ? { keyring: o.keyring } : {}),
    }),
    ...mcpRoutes({
      db: o.db,
      now,
      settings: o.settings,
      deniedUses,
      waiter,
      log: o.log,
      publicUrl: () => publicUrl,
      ...(o.keyring ? { keyring: o.keyring } : {}),
    }),
    ...keysRoutes(o.db),
    ...checkpointRoutes(o.db),
    ...sitesRoutes({ db: o.db, now, requireAdmin: admin, resolver }),
    ...auditRoutes({ db: o.db, now, signer, requireAdmin: admin }),
    ...(o.settings.metricsPort !== undefined ? [] : metricsRoutes(metrics.registry)),
    ...explainRoutes({ db: o.db, requireAdmin: admin }),
    ...channelRoutes({ db: o.db, now, keyring: notifyKeyring, requireAdmin: admin }),
    ...slackRoutes({
      db: o.db,
      now,
      log: o.log.child({ name: "slack" }),
      keyring: notifyKeyring,
      github,
      publicUrl: () => publicUrl,
      kick: () => notifier.kick(),
      slackApiUrl: o.settings.slackApiUrl,
    }),
    ...reviewRoutes({
      db: o.db,
      settings: o.settings,
      now,
      log: o.log.child({ name: "review" }),
      publicUrl: () => publicUrl,
      github,
      ...(reviewKeyring ? { keyring: reviewKeyring } : {}),
    }),
  );

  // Acknowledged = durably recorded: the endpoint records, the processor decides after the 200.
  const settings = { ...o.settings.pipeline, ...o.pipeline };
  const pipeline = pipelineMetrics(metrics.registry, o.db, now);
  const inbox = new InboxWriter(o.db, o.appId);
  const refusals = new RefusalLog({
    db: o.db,
    now,
    log: o.log.child({ name: "webhooks" }),
    metrics: pipeline,
    intervalMs: settings.refusalIntervalMs,
  });
  const processor = new InboxProcessor({
    db: o.db,
    appId: o.appId,
    dispatch: (delivery) => o.probot.receive(delivery as never),
    now,
    log: o.log.child({ name: "inbox" }),
    metrics: pipeline,
    concurrency: settings.concurrency,
    retryBaseMs: settings.retryBaseMs,
    maxAttempts: settings.maxAttempts,
    leaseMs: settings.leaseMs,
    pollMs: settings.pollMs,
  });
  const webhooks = webhookHandler({
    secret: o.secret,
    now,
    log: o.log,
    inbox,
    refusals,
    recorded: () => processor.kick(),
  });
  const routeOf = (req: import("node:http").IncomingMessage) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    return pathname === WEBHOOK_PATH ? WEBHOOK_PATH : (router.routeFor(pathname) ?? "unmatched");
  };
  const logAccess = accessLog(o.log, routeOf);
  const stopDecisionLog = logDecisionsTo(o.log);
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        logAccess(req, res);
        const started = process.hrtime.bigint();
        res.once("close", () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.ops.http.observe(
            { method: req.method ?? "", route: routeOf(req), status: String(res.statusCode) },
            seconds,
          );
        });
        res.once("finish", () => countDelivery(metrics, req, res.statusCode));
        if (await webhooks(req, res)) return;
        if (await router.handle(req, res)) return;
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { code: "not_found", message: "No such route." } }));
      } catch (error) {
        o.log.error({ err: error }, "request failed");
        sendError(res, error);
      }
    })();
  });
  server.headersTimeout = 15_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const metricsServer =
    o.settings.metricsPort !== undefined
      ? await startMetricsServer(metrics.registry, o.settings.metricsPort, host)
      : undefined;
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${address.port}`;
  if (!publicUrl) publicUrl = url;
  // This replica's key ids, so `keys rotate` can refuse while it lacks the new key.
  const heartbeat = o.keyring
    ? await startReplicaHeartbeat(o.db, o.keyring, {
        now,
        onError: (error) => o.log.error({ err: error }, "replica heartbeat failed"),
      })
    : undefined;
  let sweep: NodeJS.Timeout | undefined;
  let stopRecheck: (() => Promise<void>) | undefined;
  refusals.start();
  let stopRecovery: (() => Promise<void>) | undefined;
  let stopReconcile: (() => Promise<void>) | undefined;
  const recovery: RecoveryDeps = {
    db: o.db,
    appId: o.appId,
    app: async () =>
      instrumentGitHub(appCredentials.watch((await o.probot.auth()) as unknown as AppClient & GitHubClient), metrics),
    now,
    log: o.log.child({ name: "recovery" }),
    holder: `recovery-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
    metrics: pipeline,
  };
  const reconciliation = {
    db: o.db,
    appId: o.appId,
    github: installationClient,
    now,
    log: o.log.child({ name: "reconcile" }),
    rateLimits,
  };
  if (o.startProcessor !== false) {
    await processor.start();
    // GitHub does not redeliver failed deliveries: read the App's delivery log at start-up and every interval.
    if (settings.recoveryIntervalMs > 0) stopRecovery = startRecovery(recovery, settings.recoveryIntervalMs);
    // What is lost beyond GitHub's log still converges: pending proposals re-read from GitHub.
    if (settings.reconcileIntervalMs > 0)
      stopReconcile = startReconcile(reconciliation, settings.reconcileIntervalMs, recovery.holder);
  }
  if (o.startWorker !== false) {
    await worker.start();
    await notifier.start();
    // The same sweep signs a checkpoint of every tree that grew: at least one a minute while events are written.
    const every = Math.min(o.settings.sweepIntervalMs, 60_000);
    sweep = setInterval(() => {
      expireDue(o.db, now()).catch((error: unknown) => o.log.error({ err: error }, "expiry sweep failed"));
      if (o.keyring) {
        // Then each witness behind the latest checkpoint is sent it (with backoff when it was down).
        checkpointDue(o.db, signer, now())
          .catch((error: unknown) => o.log.error({ err: error }, "checkpoint sweep failed"))
          .then(() => witnessDue({ db: o.db, fetch, now, count: countWitness }))
          .catch((error: unknown) => o.log.error({ err: error }, "witness sweep failed"));
      }
    }, every);
    sweep.unref();
    stopRecheck = startSiteRecheck(
      o.db,
      { resolver },
      {
        now,
        onError: (error) => o.log.error({ err: error }, "site re-check sweep failed"),
      },
    );
  }
  // GitHub's rate-limit windows as this process saw them, kept in the database for `agent-gate doctor`.
  const saveWindows = () =>
    saveRateWindows(o.db, rateLimits.windows(), now()).catch((error: unknown) =>
      o.log.warn({ err: error }, "recording GitHub's rate-limit windows failed; tried again shortly"),
    );
  const windowsTimer = setInterval(() => void saveWindows(), RATE_WINDOWS_SAVE_MS);
  windowsTimer.unref();
  o.log.info({ url }, "Agent Gate is listening");

  return {
    url,
    port: address.port,
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
      clearInterval(windowsTimer);
      await heartbeat?.stop();
      await metricsServer?.close();
      if (sweep) clearInterval(sweep);
      server.closeAllConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await stopRecheck?.();
      await stopRecovery?.();
      await stopReconcile?.();
      await processor.stop();
      await refusals.stop();
      await worker.stop();
      await notifier.stop();
      await waiter.close();
      await deniedUses
        .stop()
        .catch((error: unknown) => o.log.error({ err: error }, "writing denied token uses failed"));
      await saveWindows();
      await closed;
    },
  };
}
