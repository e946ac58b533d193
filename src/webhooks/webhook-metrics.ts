import { Counter, Gauge, type Registry } from "prom-client";
import type { Queryable } from "../db/database.ts";
import { inboxState } from "./inbox.ts";

export interface PipelineMetrics {
  /** Deliveries processed, by outcome (processed, duplicate, retried, set_aside). */
  processed: Counter<"outcome">;
  /** Unauthenticated or malformed requests refused at the endpoint, by reason. */
  refused: Counter<"reason">;
  /** Redeliveries asked of GitHub by the delivery-log sweep. */
  redeliveries: Counter<"outcome">;
}

/** The webhook pipeline's metrics, in the app's registry; the inbox gauges are read at scrape time. */
export function pipelineMetrics(registry: Registry, db: Queryable, now: () => Date): PipelineMetrics {
  const processed = new Counter({
    name: "agent_gate_webhook_processed_total",
    help: "Inbox deliveries handled by this process's processor, by outcome (processed, duplicate, retried, set_aside).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: "agent_gate_webhook_refused_total",
    help: "Requests to the webhook endpoint refused before anything was recorded (bad signature, malformed headers or body), by reason.",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const redeliveries = new Counter({
    name: "agent_gate_webhook_redeliveries_total",
    help: "Redeliveries of failed deliveries asked of GitHub by the delivery-log sweep, by outcome (requested, failed).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  let state: Promise<Awaited<ReturnType<typeof inboxState>>> | undefined;
  // One read per scrape for the three gauges.
  const read = () => (state ??= inboxState(db).finally(() => setTimeout(() => (state = undefined), 0)));
  new Gauge({
    name: "agent_gate_webhook_inbox_depth",
    help: "Deliveries acknowledged and not yet processed (set-aside ones excluded).",
    registers: [registry],
    async collect() {
      this.set((await read()).open);
    },
  });
  new Gauge({
    name: "agent_gate_webhook_inbox_oldest_age_seconds",
    help: "Age of the oldest acknowledged delivery not yet processed, 0 when none.",
    registers: [registry],
    async collect() {
      const oldest = (await read()).oldest;
      this.set(oldest ? Math.max(0, (now().getTime() - new Date(oldest).getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: "agent_gate_webhook_set_aside",
    help: "Deliveries set aside after failing every try; `agent-gate doctor` lists them.",
    registers: [registry],
    async collect() {
      this.set((await read()).setAside);
    },
  });
  return { processed, refused, redeliveries };
}
