import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pinoHttp } from "pino-http";
import type { Logger } from "pino";

/** How a request is named in logs and metrics: its route pattern, never the raw path or query. */
export type RouteOf = (req: IncomingMessage) => string;

const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/** The webhook event a request carries (X-GitHub-Event), when it is well formed. */
function eventOf(req: IncomingMessage): string | undefined {
  const event = req.headers["x-github-event"];
  return typeof event === "string" && EVENT_NAME.test(event) ? event : undefined;
}

/** The request id: GitHub's delivery id for a webhook, else a fresh UUID. */
export function requestId(req: IncomingMessage): string {
  const delivery = req.headers["x-github-delivery"];
  return typeof delivery === "string" && DELIVERY_ID.test(delivery) ? delivery : randomUUID();
}

/**
 * One access line per HTTP request (pino-http): request id, method, route
 * pattern, the webhook event (X-GitHub-Event) when there is one, status and duration. The line is built from these fields alone, so
 * no query string, header or body can reach it.
 */
export function accessLog(log: Logger, routeOf: RouteOf): (req: IncomingMessage, res: ServerResponse) => void {
  const line = (req: IncomingMessage, res: ServerResponse, durationMs: number) => ({
    method: req.method ?? "",
    route: routeOf(req),
    ...(eventOf(req) ? { event: eventOf(req) } : {}),
    status: res.statusCode,
    duration_ms: durationMs,
  });
  const middleware = pinoHttp({
    logger: log.child({ name: "http" }),
    genReqId: (req) => requestId(req),
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: "request_id" },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? "error" : "info"),
    customSuccessObject: (req, res, value: { responseTime: number }) => line(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => line(req, res, value.responseTime),
    customSuccessMessage: () => "request completed",
    customErrorMessage: () => "request failed",
  });
  return (req, res) => middleware(req, res);
}
