import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "./db/database.ts";
import { WEBHOOK_PATH } from "./webhooks/receive.ts";
import type { RateLimits } from "./github/rate-limit.ts";
import { addOpsMetrics, type OpsMetrics } from "./ops-metrics.ts";
import type { DeliveryQueue } from "./queues.ts";
import { appVersion } from "./version.ts";
import { loopFailures } from "./loop.ts";

export interface MetricsSources {
  db: Database;
  now: () => Date;
  /** Long-polls currently waiting for a decision (DecisionWaiter#watching). */
  waiters?: () => number;
  /** GitHub's rate-limit windows as last answered (agent_gate_github_rate_limit_remaining). */
  rateLimits?: RateLimits;
  /** The deliveries queue (agent_gate_queue_depth{queue="deliveries"}). */
  deliveries?: DeliveryQueue;
}

export interface GateMetrics {
  registry: Registry;
  deliveries: Counter<"event" | "outcome">;
  githubCalls: Histogram<"method" | "outcome">;
  githubErrors: Counter<"method" | "status">;
  tokenDenied: Counter<"reason">;
  /** Process, HTTP, queue, GitHub-call and build metrics (ops-metrics.ts). */
  ops: OpsMetrics;
}

/**
 * The app's Prometheus metrics, in a registry of their own (never the global
 * default). Counters count in this process; the gauges are read from the
 * database at scrape time, so every replica reports the shared queue.
 */
export function createMetrics(sources: MetricsSources): GateMetrics {
  const registry = new Registry();
  const deliveries = new Counter({
    name: "agent_gate_webhook_deliveries_total",
    help: "Webhook deliveries received, by event and outcome (ok, refused, failed).",
    labelNames: ["event", "outcome"] as const,
    registers: [registry],
  });
  const githubCalls = new Histogram({
    name: "agent_gate_github_request_duration_seconds",
    help: "GitHub API calls (outbox worker, webhook handlers, token requests), by HTTP method and outcome (ok, error).",
    labelNames: ["method", "outcome"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const githubErrors = new Counter({
    name: "agent_gate_github_request_errors_total",
    help: "GitHub API calls that failed, by HTTP method and status (0 when no response arrived).",
    labelNames: ["method", "status"] as const,
    registers: [registry],
  });
  const tokenDenied = new Counter({
    name: "agent_gate_token_denied_total",
    help: "Requests refused for a known agent token, by reason (revoked, expired, uninstalled).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "agent_gate_proposals",
    help: "Decisions by kind and outcome: proposals in the database per kind and status (all installations).",
    labelNames: ["kind", "status"] as const,
    registers: [registry],
    async collect() {
      // proposals has FORCED row level security: count per installation, as the app role.
      const counts = new Map<string, { kind: string; status: string; n: number }>();
      const installations = await sources.db.query<{ id: number }>(
        "SELECT id FROM installations WHERE deleted_at IS NULL",
      );
      for (const { id } of installations) {
        const rows = await sources.db.tenant(id, (tx) =>
          tx.query<{ kind: string; status: string; n: number }>(
            "SELECT kind, status, count(*)::int8 AS n FROM proposals GROUP BY kind, status",
          ),
        );
        for (const row of rows) {
          const key = `${row.kind}\u0000${row.status}`;
          counts.set(key, { kind: row.kind, status: row.status, n: (counts.get(key)?.n ?? 0) + row.n });
        }
      }
      this.reset();
      for (const row of counts.values()) this.set({ kind: row.kind, status: row.status }, row.n);
    },
  });
  new Gauge({
    name: "agent_gate_outbox_depth",
    help: "GitHub writes queued and not yet done.",
    registers: [registry],
    async collect() {
      const [row] = await sources.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM outbox WHERE done_at IS NULL",
      );
      this.set(row?.n ?? 0);
    },
  });
  new Gauge({
    name: "agent_gate_outbox_oldest_age_seconds",
    help: "Age of the oldest queued GitHub write, 0 when the queue is empty.",
    registers: [registry],
    async collect() {
      const [row] = await sources.db.query<{ oldest: Date | null }>(
        "SELECT min(created_at) AS oldest FROM outbox WHERE done_at IS NULL",
      );
      const oldest = row?.oldest ? new Date(row.oldest) : null;
      this.set(oldest ? Math.max(0, (sources.now().getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: "agent_gate_long_poll_waiters",
    help: "Proposals with a long-poll waiting for their decision in this process.",
    registers: [registry],
    collect() {
      this.set(sources.waiters?.() ?? 0);
    },
  });
  // Counted by every periodic job of the process (loop.ts).
  registry.registerMetric(loopFailures);
  const ops = addOpsMetrics(registry, {
    db: sources.db,
    now: sources.now,
    version: appVersion(),
    ...(sources.rateLimits ? { rateLimits: sources.rateLimits } : {}),
    ...(sources.deliveries ? { deliveries: sources.deliveries } : {}),
  });
  return { registry, deliveries, githubCalls, githubErrors, tokenDenied, ops };
}

/** Webhook outcome from the status the endpoint answered. */
export function deliveryOutcome(status: number): "ok" | "refused" | "failed" {
  return status < 300 ? "ok" : status < 500 ? "refused" : "failed";
}

const EVENT_NAME = /^[a-z_]{1,64}$/;

/** Count a finished request to the webhook path; an unknown-shaped event name is labelled "invalid". */
export function countDelivery(
  metrics: GateMetrics,
  req: { url?: string | undefined; headers: Record<string, unknown> },
  status: number,
): void {
  if ((req.url ?? "").split("?")[0] !== WEBHOOK_PATH) return;
  const event = req.headers["x-github-event"];
  const label = typeof event === "string" && EVENT_NAME.test(event) ? event : "invalid";
  metrics.deliveries.inc({ event: label, outcome: deliveryOutcome(status) });
}

interface HookableClient {
  hook: {
    wrap(
      name: "request",
      fn: (request: (options: { method: string }) => Promise<unknown>, options: { method: string }) => Promise<unknown>,
    ): void;
  };
}

const instrumented = new WeakSet<object>();

/** Times every request of a GitHub client into the metrics; errors are counted and rethrown. A client is instrumented once. */
export function instrumentGitHub<T>(client: T, metrics: GateMetrics): T {
  if (instrumented.has(client as object)) return client;
  instrumented.add(client as object);
  // Octokit's `hook.wrap` is generic over every hook name; no client type states the "request" hook alone.
  (client as unknown as HookableClient).hook.wrap("request", async (request, options) => {
    const end = metrics.githubCalls.startTimer({ method: options.method });
    try {
      const response = await request(options);
      end({ outcome: "ok" });
      return response;
    } catch (error) {
      end({ outcome: "error" });
      const status = (error as { status?: unknown }).status;
      metrics.githubErrors.inc({ method: options.method, status: typeof status === "number" ? String(status) : "0" });
      throw error;
    }
  });
  return client;
}
