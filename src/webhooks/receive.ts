import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { readBody, sendJson } from "../http/io.ts";
import { GateError } from "../errors.ts";
import { checkSignature } from "./signature.ts";
import type { InboxWriter } from "./inbox.ts";
import type { RefusalLog, RefusalReason } from "./refusals.ts";
import { subjectOf } from "./subject.ts";

export const WEBHOOK_PATH = "/api/github/webhooks";
/** GitHub caps webhook payloads at 25 MB. */
const MAX_BODY = 25 * 1024 * 1024;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

export interface IngestDeps {
  secret: string;
  now: () => Date;
  log: Logger;
  /** Where verified deliveries are recorded durably before they are acknowledged. */
  inbox: InboxWriter;
  /** Counts refused requests (one aggregated audit event per interval). */
  refusals: RefusalLog;
  /** Called once a new delivery is recorded (this process's processor starts on it at once). */
  recorded?: () => void;
  maxBodyBytes?: number;
}

/**
 * The webhook endpoint. It verifies the signature on the exact bytes
 * received, records the verified delivery in the inbox and answers 2xx once
 * that record is durable; a delivery already held is answered 2xx again
 * without a second record. Nothing else happens on the request path: the
 * processor decides afterwards. A request that fails verification is refused
 * (400) and counted, without a row of its own; a delivery that could not be
 * recorded is answered 503, so GitHub's log shows it failed and the
 * delivery-log sweep asks for it again.
 */
export function webhookHandler(deps: IngestDeps) {
  const hint = mismatchHint(deps.log);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== WEBHOOK_PATH) return false;
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return true;
    }
    await ingest(deps, req, res, hint);
    return true;
  };
}

async function ingest(
  deps: IngestDeps,
  req: IncomingMessage,
  res: ServerResponse,
  hint: (delivery: string, event: string) => void,
): Promise<void> {
  const rawId = header(req, "x-github-delivery");
  const deliveryId = rawId && DELIVERY_ID.test(rawId) ? rawId : null;
  const rawEvent = header(req, "x-github-event");
  const event = rawEvent && EVENT_NAME.test(rawEvent) ? rawEvent : null;

  let body: Buffer;
  try {
    body = await readBody(req, deps.maxBodyBytes ?? MAX_BODY);
  } catch (error) {
    const status = error instanceof GateError ? error.status : 400;
    refuse(
      deps,
      res,
      status,
      status === 413 ? "body_too_large" : "body_unreadable",
      status === 413 ? "body too large" : "body could not be read",
    );
    return;
  }
  if (!deliveryId || !event) {
    refuse(deps, res, 400, "headers_malformed", "missing or malformed X-GitHub-Delivery or X-GitHub-Event header");
    return;
  }
  const signature = checkSignature(deps.secret, body, req.headers["x-hub-signature-256"]);
  if (!signature.ok) {
    if (signature.code === "signature_mismatch") hint(deliveryId, event);
    refuse(deps, res, 400, signature.code, signature.reason);
    return;
  }
  let payload: Record<string, unknown>;
  const text = body.toString("utf8");
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    payload = parsed as Record<string, unknown>;
  } catch {
    refuse(deps, res, 400, "body_not_json", "body is not a JSON object");
    return;
  }

  const installation = payload.installation as { id?: unknown } | undefined;
  let fresh: boolean;
  try {
    fresh = await deps.inbox.record({
      deliveryId,
      event,
      action: typeof payload.action === "string" ? payload.action : null,
      installationId:
        typeof installation?.id === "number" && Number.isSafeInteger(installation.id) ? installation.id : null,
      subject: subjectOf(event, deliveryId, payload),
      payload: text,
      receivedAt: deps.now(),
    });
  } catch (error) {
    deps.log.error(
      { err: error, delivery: deliveryId, event },
      "webhook delivery could not be recorded; answered 503 and recovered from GitHub's delivery log",
    );
    sendJson(res, 503, {
      error: { code: "webhook_not_recorded", message: "The delivery could not be recorded; redeliver it." },
    });
    return;
  }
  if (fresh) deps.recorded?.();
  sendJson(res, 200, fresh ? { ok: true } : { ok: true, duplicate: true });
}

function refuse(deps: IngestDeps, res: ServerResponse, status: number, reason: RefusalReason, message: string): void {
  deps.log.debug({ reason, status }, "webhook refused");
  deps.refusals.refuse(reason);
  sendJson(res, status, { error: { code: "webhook_refused", message } });
}

/** Past this many hints a minute, further mismatches are only counted (a flood of forged deliveries). */
const HINTS_PER_MINUTE = 10;

/**
 * A warning naming the delivery whose signature did not match, with what to check: a wrong WEBHOOK_SECRET
 * refuses every delivery, and the access line alone ("400") does not say why.
 */
function mismatchHint(log: Logger): (delivery: string, event: string) => void {
  let windowStart = 0;
  let given = 0;
  return (delivery, event) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      windowStart = now;
      given = 0;
    }
    given += 1;
    if (given > HINTS_PER_MINUTE) return;
    log.warn(
      { delivery, event },
      "webhook refused: the X-Hub-Signature-256 signature did not match; verify that the webhook secret matches the App's (WEBHOOK_SECRET, and the App's settings on GitHub)",
    );
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}
