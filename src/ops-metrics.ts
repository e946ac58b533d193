import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Database } from "./db/database.ts";
import type { RateLimits } from "./github/rate-limit.ts";
import { queueStates, type DeliveryQueue } from "./queues.ts";

export interface OpsMetricSources {
  db: Database;
  now: () => Date;
  version: string;
  rateLimits?: RateLimits;
  deliveries?: DeliveryQueue;
}

export interface OpsMetrics {
  http: Histogram<"method" | "route" | "status">;
  githubCalls: Counter<"operation" | "status">;
}

/**
 * What an operator watches besides the gates: process and Node metrics, HTTP
 * request durations by route pattern and status, the two queues (deliveries,
 * GitHub writes) with their oldest age, GitHub calls by operation and status,
 * the rate limit left per installation and the build.
 */
export function addOpsMetrics(registry: Registry, sources: OpsMetricSources): OpsMetrics {
  collectDefaultMetrics({ register: registry });
  const http = new Histogram({
    name: "agent_gate_http_request_duration_seconds",
    help: "HTTP requests answered by the app, by method, route pattern and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const githubCalls = new Counter({
    name: "agent_gate_github_calls_total",
    help: "GitHub API calls (reads and writes), by operation (method and route template) and status answered (0: none).",
    labelNames: ["operation", "status"] as const,
    registers: [registry],
  });
  const states = () => queueStates(sources.db, sources.now(), sources.deliveries);
  new Gauge({
    name: "agent_gate_queue_depth",
    help: "Work queued and not yet done, by queue (deliveries, github_writes).",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      for (const q of await states()) this.set({ queue: q.queue }, q.depth);
    },
  });
  new Gauge({
    name: "agent_gate_queue_oldest_age_seconds",
    help: "Age of the oldest queued item, by queue; 0 when the queue is empty.",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      for (const q of await states()) this.set({ queue: q.queue }, q.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: "agent_gate_queue_set_aside",
    help: "Items given up on after their last attempt, by queue (they need an operator).",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      for (const q of await states()) this.set({ queue: q.queue }, q.setAside);
    },
  });
  new Gauge({
    name: "agent_gate_github_rate_limit_remaining",
    help: "GitHub API calls left in the current rate-limit window, per installation, as GitHub last answered.",
    labelNames: ["installation"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { installationId, remaining } of sources.rateLimits?.known() ?? [])
        this.set({ installation: String(installationId) }, remaining);
    },
  });
  new Gauge({
    name: "agent_gate_github_rate_remaining",
    help: "GitHub API calls left in the installation's rate-limit window (x-ratelimit-remaining), as GitHub last answered; below a tenth of the limit, reconciliation waits for the reset.",
    labelNames: ["installation"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { installationId, remaining } of sources.rateLimits?.known() ?? [])
        this.set({ installation: String(installationId) }, remaining);
    },
  });
  new Gauge({
    name: "agent_gate_build_info",
    help: "The running build: 1, labelled with the app's version and Node's.",
    labelNames: ["version", "node_version"] as const,
    registers: [registry],
  }).set({ version: sources.version, node_version: process.version }, 1);
  return { http, githubCalls };
}
