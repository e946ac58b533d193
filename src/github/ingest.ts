import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { readBody, sendJson } from "../api/http.ts";
import { GateError } from "../errors.ts";
import { checkSignature } from "./signature.ts";
import { DuplicateDelivery, deliverySeen, recordDelivery, type CommittedDeliveries, type Delivery } from "./deliveries.ts";

export const WEBHOOK_PATH = "/api/github/webhooks";
/** GitHub caps webhook payloads at 25 MB. */
const MAX_BODY = 25 * 1024 * 1024;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
/** GitHub waits 10 s for an answer; past this the delivery is answered 503 so it is redelivered. */
export const HANDLER_DEADLINE_MS = 8_000;
const EVENT_NAME = /^[a-z_]{1,64}$/;

export interface IngestDeps {
  db: Database;
  probot: Probot;
  appId: number;
  secret: string;
  now: () => Date;
  log: Logger;
  maxBodyBytes?: number;
  /** How long handlers may take before the delivery is answered 503 (default HANDLER_DEADLINE_MS). */
  deadlineMs?: number;
  /** Deliveries the handlers noted as committed (the same object the handlers get). */
  committed?: CommittedDeliveries;
}

/**
 * The webhook endpoint. It verifies the signature on the exact bytes received,
 * refuses (400) and audits what fails, hands verified deliveries to Probot's
 * handlers and answers only once their consequences are committed: 200 when
 * done or already done, 5xx when anything failed, so GitHub can redeliver.
 */
export function webhookHandler(deps: IngestDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== WEBHOOK_PATH) return false;
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return true;
    }
    await ingest(deps, req, res);
    return true;
  };
}

async function ingest(deps: IngestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawId = header(req, "x-github-delivery");
  const deliveryId = rawId && DELIVERY_ID.test(rawId) ? rawId : null;
  const rawEvent = header(req, "x-github-event");
  const event = rawEvent && EVENT_NAME.test(rawEvent) ? rawEvent : null;

  let body: Buffer;
  try {
    body = await readBody(req, deps.maxBodyBytes ?? MAX_BODY);
  } catch (error) {
    const status = error instanceof GateError ? error.status : 400;
    await refuse(deps, res, status, deliveryId, event, status === 413 ? "body too large" : "body could not be read");
    return;
  }
  if (!deliveryId || !event) {
    await refuse(deps, res, 400, deliveryId, event, "missing or malformed X-GitHub-Delivery or X-GitHub-Event header");
    return;
  }
  const signature = checkSignature(deps.secret, body, req.headers["x-hub-signature-256"]);
  if (!signature.ok) {
    await refuse(deps, res, 400, deliveryId, event, signature.reason);
    return;
  }
  let payload: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    payload = parsed as Record<string, unknown>;
  } catch {
    await refuse(deps, res, 400, deliveryId, event, "body is not a JSON object");
    return;
  }

  const delivery = describe(deps.appId, deliveryId, event, payload);
  try {
    if (await deliverySeen(deps.db, deps.appId, deliveryId)) {
      await auditDuplicate(deps, delivery);
      sendJson(res, 200, { ok: true, duplicate: true });
      return;
    }
    await withinDeadline(deps.probot.receive({ id: deliveryId, name: event, payload } as never), deps.deadlineMs ?? HANDLER_DEADLINE_MS);
    // A handler that acted recorded the delivery with its consequences; any other is recorded here.
    if (!deps.committed?.take(deliveryId) && !(await deliverySeen(deps.db, deps.appId, deliveryId))) {
      await deps.db
        .tenant(delivery.installationId ?? 0, (tx) => recordDelivery(tx, delivery, deps.now(), "no_action"))
        .catch((error: unknown) => {
          if (!(error instanceof DuplicateDelivery)) throw error;
        });
    }
    sendJson(res, 200, { ok: true });
  } catch (error) {
    deps.committed?.take(deliveryId);
    if (onlyDuplicates(error)) {
      await auditDuplicate(deps, delivery).catch(() => {});
      sendJson(res, 200, { ok: true, duplicate: true });
      return;
    }
    deps.log.error({ err: error, delivery: deliveryId, event }, "webhook handling failed; the gate stays closed");
    await deps.db
      .tenant(delivery.installationId ?? 0, (tx) =>
        appendAudit(
          tx,
          delivery.installationId ?? 0,
          {
            action: "webhook.failed",
            outcome: "error",
            actor: delivery.sender?.login ?? null,
            repo: delivery.repo,
            subject: deliveryId,
            data: { event, action: delivery.action, delivery_id: deliveryId, error: errorName(error) },
          },
          deps.now(),
        ),
      )
      .catch(() => {});
    const status = error instanceof GateError && error.status >= 500 ? error.status : 500;
    sendJson(res, status, { error: { code: "webhook_failed", message: "The delivery was not processed; redeliver it." } });
  }
}

/**
 * A slow handler (GitHub slow to answer a read) must not leave GitHub without
 * an answer: past the deadline the delivery is refused with a 503 and GitHub
 * redelivers it. The handler may still commit afterwards; the redelivery then
 * finds it processed. Nothing is acknowledged that did not commit.
 */
async function withinDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GateError("handler_too_slow", `The delivery was not handled within ${ms} ms; redeliver it.`, { status: 503 })), ms);
  });
  work.catch(() => {}); // a rejection after the deadline is already answered for
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(appId: number, id: string, event: string, payload: Record<string, unknown>): Delivery {
  const installation = payload.installation as { id?: unknown } | undefined;
  const sender = payload.sender as { login?: unknown; type?: unknown } | undefined;
  const repository = payload.repository as { full_name?: unknown } | undefined;
  return {
    appId,
    id,
    event,
    action: typeof payload.action === "string" ? payload.action : null,
    installationId: typeof installation?.id === "number" ? installation.id : null,
    sender:
      typeof sender?.login === "string" ? { login: sender.login, type: String(sender.type ?? "User") } : null,
    repo: typeof repository?.full_name === "string" ? repository.full_name : null,
  };
}

async function refuse(
  deps: IngestDeps,
  res: ServerResponse,
  status: number,
  deliveryId: string | null,
  event: string | null,
  reason: string,
): Promise<void> {
  deps.log.warn({ delivery: deliveryId, event, reason }, "webhook refused");
  try {
    // Nothing of a refused delivery's body is trusted: the event lands in the app-level chain (0).
    await deps.db.tenant(0, (tx) =>
      appendAudit(
        tx,
        0,
        {
          action: "webhook.refused",
          outcome: "refused",
          subject: deliveryId,
          data: { delivery_id: deliveryId, event, reason, status },
        },
        deps.now(),
      ),
    );
  } catch (error) {
    deps.log.error({ err: error }, "could not audit a refused webhook");
  }
  sendJson(res, status, { error: { code: "webhook_refused", message: reason } });
}

async function auditDuplicate(deps: IngestDeps, delivery: Delivery): Promise<void> {
  const installationId = delivery.installationId ?? 0;
  await deps.db.tenant(installationId, (tx) =>
    appendAudit(
      tx,
      installationId,
      {
        action: "webhook.duplicate",
        outcome: "ignored",
        actor: delivery.sender?.login ?? null,
        repo: delivery.repo,
        subject: delivery.id,
        data: { event: delivery.event, action: delivery.action, delivery_id: delivery.id },
      },
      deps.now(),
    ),
  );
}

function onlyDuplicates(error: unknown): boolean {
  if (error instanceof DuplicateDelivery) return true;
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(onlyDuplicates);
  return false;
}

function errorName(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(errorName).join(",");
  if (error instanceof GateError) return error.code;
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return typeof status === "number" ? `${error.name}:${status}` : error.name;
  }
  return typeof error;
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}
