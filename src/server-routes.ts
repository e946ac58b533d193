import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import type { Settings } from "./config/settings.ts";
import type { Keyring } from "./crypto/keyring.ts";
import type { Signer } from "./crypto/signer.ts";
import type { GitHubClient } from "./github/client.ts";
import type { AppCredentials } from "./github/app-credentials.ts";
import type { TxtResolver } from "./sites/dns-check.ts";
import type { GateMetrics } from "./metrics.ts";
import type { OutboxWorker } from "./outbox/worker.ts";
import type { Notifier } from "./notify/notifier.ts";
import type { DecisionWaiter } from "./proposals/wait.ts";
import type { Route } from "./http/router.ts";
import type { DeniedUses } from "./tokens/denied-uses.ts";
import { requireAdmin } from "./requests/auth.ts";
import { healthRoutes } from "./api/health-routes.ts";
import { apiRoutes } from "./api/routes.ts";
import { keysRoutes } from "./api/keys-routes.ts";
import { checkpointRoutes } from "./api/checkpoint-routes.ts";
import { sitesRoutes } from "./api/sites-routes.ts";
import { auditRoutes } from "./api/audit-routes.ts";
import { metricsRoutes } from "./api/metrics-routes.ts";
import { explainRoutes } from "./api/explain-routes.ts";
import { missingKeyIds } from "./keys/in-use.ts";
import { mcpRoutes } from "./mcp/routes.ts";
import { reviewRoutes } from "./review/routes.ts";
import { slackRoutes } from "./notify/slack-routes.ts";
import { channelRoutes } from "./notify/channel-routes.ts";

/** What the app's HTTP routes work with; server.ts wires it. */
export interface GateRoutesDeps {
  db: Database;
  now: () => Date;
  settings: Settings;
  log: Logger;
  /** The app's keyring when one is configured (receipts, keys, the review page's sealed text). */
  keyring: Keyring | undefined;
  /** The keyring notification channels' secrets are sealed with (the app's, else the environment's). */
  notifyKeyring: Keyring | null;
  metrics: GateMetrics;
  worker: OutboxWorker;
  notifier: Notifier;
  deniedUses: DeniedUses;
  waiter: DecisionWaiter;
  github: ((installationId: number) => Promise<GitHubClient>) & {
    decorate: (client: GitHubClient, installationId: number) => GitHubClient;
  };
  publicUrl: () => string;
  appCredentials: AppCredentials;
  resolver: TxtResolver;
  signer: () => Promise<Signer>;
}

/** Every route of the app besides the webhook endpoint, in the order the router tries them. */
export function gateRoutes(d: GateRoutesDeps): Route[] {
  const authDeps = { db: d.db, now: d.now, settings: d.settings, deniedUses: d.deniedUses };
  const admin = async (req: IncomingMessage) => {
    const principal = await requireAdmin(authDeps, req);
    return {
      installationId: principal.installationId,
      actor: principal.actor,
      repos: principal.repos,
      kinds: principal.kinds,
    };
  };
  const appKeyring = d.keyring;
  const keyring = appKeyring ? { keyring: appKeyring } : {};
  const agents = {
    db: d.db,
    now: d.now,
    settings: d.settings,
    deniedUses: d.deniedUses,
    waiter: d.waiter,
    log: d.log,
    publicUrl: d.publicUrl,
    ...keyring,
  };
  return [
    ...healthRoutes({
      db: d.db,
      worker: d.worker,
      githubApp: () => d.appCredentials.refused ?? "ok",
      ...(appKeyring ? { missingKeys: () => missingKeyIds(d.db, appKeyring) } : {}),
    }),
    ...apiRoutes(agents),
    ...mcpRoutes(agents),
    ...keysRoutes(d.db),
    ...checkpointRoutes(d.db),
    ...sitesRoutes({ db: d.db, now: d.now, requireAdmin: admin, resolver: d.resolver }),
    ...auditRoutes({ db: d.db, now: d.now, signer: d.signer, requireAdmin: admin }),
    ...(d.settings.metricsPort !== undefined ? [] : metricsRoutes(d.metrics.registry)),
    ...explainRoutes({ db: d.db, requireAdmin: admin }),
    ...channelRoutes({ db: d.db, now: d.now, keyring: d.notifyKeyring, requireAdmin: admin }),
    ...slackRoutes({
      db: d.db,
      now: d.now,
      log: d.log.child({ name: "slack" }),
      keyring: d.notifyKeyring,
      github: d.github,
      publicUrl: d.publicUrl,
      kick: () => d.notifier.kick(),
      slackApiUrl: d.settings.slackApiUrl,
    }),
    ...reviewRoutes({
      db: d.db,
      settings: d.settings,
      now: d.now,
      log: d.log.child({ name: "review" }),
      publicUrl: d.publicUrl,
      github: d.github,
      // The review page opens sealed text with the app's keyring, else the environment's.
      ...(d.notifyKeyring ? { keyring: d.notifyKeyring } : {}),
    }),
  ];
}
