import type { Probot } from "probot";
import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import type { GitHubClient } from "./github/client.ts";
import type { RateLimits } from "./github/rate-limit.ts";
import { decorateClientsOf } from "./github/narrowed.ts";
import { watchGitHub } from "./github/watch-calls.ts";
import { conditionalReads } from "./github/conditional-reads.ts";
import { databaseEtagStore, layeredEtagStore, memoryEtagStore, type EtagStore } from "./github/etag-store.ts";
import { instrumentGitHub, type GateMetrics } from "./metrics.ts";

/** An installation's client, and how any other client of the app is watched the same way. */
export type GateGitHub = ((installationId: number) => Promise<GitHubClient>) & {
  decorate: (client: GitHubClient, installationId: number) => GitHubClient;
};

/**
 * The app's GitHub clients: every call counted and timed, paced by GitHub's
 * rate limits, and every read conditional (ETag), its answers kept in the
 * database for every replica (docs/rate-limit.md). Webhook handlers' clients
 * (Probot's context.octokit) are watched too.
 */
export async function gateGitHub(o: {
  probot: Probot;
  db: Database;
  now: () => Date;
  log: Logger;
  metrics: GateMetrics;
  rateLimits: RateLimits;
  etags?: EtagStore;
}): Promise<GateGitHub> {
  const countCall = (call: { operation: string; status: number }) =>
    o.metrics.ops.githubCalls.inc({ operation: call.operation, status: String(call.status) });
  const etags = o.etags ?? layeredEtagStore(memoryEtagStore(), databaseEtagStore(o.db, { now: o.now }));
  const etagLog = o.log.child({ name: "github-etags" });
  const conditional = (client: GitHubClient, installationId: number) =>
    conditionalReads(client, installationId, etags, {
      onStoreError: (error) => etagLog.warn({ err: error }, "the ETag store failed; the read went without a condition"),
    });
  const watch = (client: GitHubClient, installationId: number) =>
    watchGitHub(
      instrumentGitHub(conditional(client, installationId), o.metrics),
      installationId,
      o.rateLimits,
      countCall,
    );
  // One installation client per installation: its auth hook renews the installation token itself.
  const installationClients = new Map<number, Promise<GitHubClient>>();
  const installationClient = (installationId: number): Promise<GitHubClient> => {
    let client = installationClients.get(installationId);
    if (!client) {
      client = (o.probot.auth(installationId) as Promise<GitHubClient>).then((made) => watch(made, installationId));
      // The caller awaiting this client gets the error; the cache only forgets it, so the next call asks again.
      client.catch(() => installationClients.delete(installationId));
      installationClients.set(installationId, client);
    }
    return client;
  };
  // Webhook handlers narrow Probot's context.octokit: their reads and token requests are counted (and paced) too.
  decorateClientsOf(await o.probot.auth(), watch);
  return Object.assign(installationClient, { decorate: watch });
}
