import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "pino";

/** What the decision line says: which proposal, its kind and repository, the outcome and how many approved. */
export interface DecisionLine {
  installation_id: number;
  proposal: string | null;
  kind: string | null;
  repo: string | null;
  outcome: string;
  approvers: number;
  /** The webhook delivery that led to the decision; null for the API, the review page and the sweep. */
  delivery: string | null;
}

const delivery = new AsyncLocalStorage<string>();

/** Runs the handling of one webhook delivery: decisions recorded meanwhile name it in their log line. */
export function inDelivery<T>(deliveryId: string, handle: () => Promise<T>): Promise<T> {
  return delivery.run(deliveryId, handle);
}

const loggers = new Set<Logger>();

/**
 * Loggers told of every decision recorded in this process. Every decision
 * (commit, deploy, outreach; webhook, button or review page) is written as a
 * `decision.recorded` audit event by appendAudits, so that is where the line
 * is emitted: one place, whatever path decided. A server adds its logger
 * while it runs; the returned function removes it.
 */
export function logDecisionsTo(log: Logger): () => void {
  const child = log.child({ name: "decision" });
  loggers.add(child);
  return () => loggers.delete(child);
}

/** One line per decision recorded: no body, no content, no secrets, only ids and counts. */
export function logDecision(line: DecisionLine): void {
  for (const log of loggers) log.info(line, "decision recorded");
}

/** The decision line of an audit event, or undefined when the event is not a decision. */
export function decisionLine(
  installationId: number,
  event: {
    action: string;
    outcome: string;
    repo?: string | null;
    subject?: string | null;
    data?: Record<string, unknown>;
  },
): DecisionLine | undefined {
  if (event.action !== "decision.recorded") return undefined;
  const data = event.data ?? {};
  const decision = (data.decision ?? {}) as { approvers?: unknown };
  return {
    installation_id: installationId,
    proposal: event.subject ?? null,
    kind: typeof data.kind === "string" ? data.kind : null,
    repo: event.repo ?? null,
    outcome: event.outcome,
    approvers: Array.isArray(decision.approvers) ? decision.approvers.length : 0,
    delivery: delivery.getStore() ?? null,
  };
}
