import { Counter, Gauge, type Registry } from "prom-client";
import type { Database } from "../db/database.ts";
import { notifyQueueState } from "./jobs.ts";

/**
 * Notifications in the app's registry: messages sent and failed for good by
 * channel type (this process), and the shared queue's depth and failures.
 * Returns the counter the notifier counts with.
 */
export function notifyMetrics(registry: Registry, db: Database): (type: string, outcome: "sent" | "failed") => void {
  const messages = new Counter({
    name: "agent_gate_notifications_total",
    help: "Notification messages by channel type and outcome (sent, failed: failed for good and audited as notification.failed).",
    labelNames: ["type", "outcome"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "agent_gate_notify_queue_depth",
    help: "Notification jobs queued and not yet done (all replicas).",
    registers: [registry],
    async collect() {
      this.set((await notifyQueueState(db)).depth);
    },
  });
  new Gauge({
    name: "agent_gate_notify_failed",
    help: "Notification jobs that failed for good (all replicas); `agent-gate doctor` lists the latest.",
    registers: [registry],
    async collect() {
      this.set((await notifyQueueState(db)).failed);
    },
  });
  return (type, outcome) => messages.inc({ type, outcome });
}
