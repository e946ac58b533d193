import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";
import type { Logger } from "pino";
import type { Database } from "./db/database.ts";
import type { PipelineSettings } from "./config/settings.ts";
import type { GateMetrics } from "./metrics.ts";
import { webhookHandler } from "./webhooks/receive.ts";
import { InboxWriter } from "./webhooks/inbox.ts";
import { InboxProcessor } from "./webhooks/processor.ts";
import { RefusalLog } from "./webhooks/refusals.ts";
import { pipelineMetrics, type PipelineMetrics } from "./webhooks/webhook-metrics.ts";

export interface GateInbox {
  /** The webhook endpoint: true when the request was one for it (answered). */
  webhooks: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  refusals: RefusalLog;
  processor: InboxProcessor;
  metrics: PipelineMetrics;
}

/**
 * Acknowledged = durably recorded: the endpoint records each delivery in the
 * inbox, and the processor hands it to Probot's handlers after the 200.
 * Requests refused before anything is recorded are counted by the refusal log.
 */
export function gateInbox(o: {
  db: Database;
  appId: number;
  secret: string;
  probot: Probot;
  now: () => Date;
  log: Logger;
  metrics: GateMetrics;
  settings: PipelineSettings;
}): GateInbox {
  const pipeline = pipelineMetrics(o.metrics.registry, o.db, o.now);
  const refusals = new RefusalLog({
    db: o.db,
    now: o.now,
    log: o.log.child({ name: "webhooks" }),
    metrics: pipeline,
    intervalMs: o.settings.refusalIntervalMs,
  });
  const processor = new InboxProcessor({
    db: o.db,
    appId: o.appId,
    dispatch: (delivery) => o.probot.receive(delivery as never),
    now: o.now,
    log: o.log.child({ name: "inbox" }),
    metrics: pipeline,
    concurrency: o.settings.concurrency,
    retryBaseMs: o.settings.retryBaseMs,
    maxAttempts: o.settings.maxAttempts,
    leaseMs: o.settings.leaseMs,
    pollMs: o.settings.pollMs,
  });
  const webhooks = webhookHandler({
    secret: o.secret,
    now: o.now,
    log: o.log,
    inbox: new InboxWriter(o.db, o.appId),
    refusals,
    recorded: () => processor.kick(),
  });
  return { webhooks, refusals, processor, metrics: pipeline };
}
