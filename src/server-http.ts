import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Router } from "./http/router.ts";
import { GateError } from "./errors.ts";
import { sendError } from "./http/io.ts";
import { accessLog } from "./http/access-log.ts";
import { WEBHOOK_PATH } from "./webhooks/receive.ts";
import { countDelivery, type GateMetrics } from "./metrics.ts";

/**
 * The one HTTP server: each request logged, timed and counted by route
 * pattern; the webhook endpoint first, then the router, else a 404. Resolves
 * once it listens.
 */
export async function listenHttp(
  o: {
    log: Logger;
    metrics: GateMetrics;
    router: Router;
    webhooks: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  },
  port: number,
  host: string,
): Promise<{ server: Server; port: number }> {
  // The route pattern, never the raw path or query: either can hold an id or a code.
  const routeOf = (req: IncomingMessage) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    return pathname === WEBHOOK_PATH ? WEBHOOK_PATH : (o.router.routeFor(pathname) ?? "unmatched");
  };
  const logAccess = accessLog(o.log, routeOf);
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        logAccess(req, res);
        const started = process.hrtime.bigint();
        res.once("close", () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          o.metrics.ops.http.observe(
            { method: req.method ?? "", route: routeOf(req), status: String(res.statusCode) },
            seconds,
          );
        });
        res.once("finish", () => countDelivery(o.metrics, req, res.statusCode));
        if (await o.webhooks(req, res)) return;
        if (await o.router.handle(req, res)) return;
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { code: "not_found", message: "No such route." } }));
      } catch (error) {
        o.log.error({ err: error }, "request failed");
        sendError(res, error);
      }
    })();
  });
  server.headersTimeout = 15_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** The app's router; a failed route is logged by its pattern, a refusal (4xx) at debug level only. */
export function gateRouter(log: Logger): Router {
  const router = new Router((error, ctx) => {
    // The route pattern, never the raw path or query: either can hold an id or a code.
    const request = {
      method: ctx.req.method,
      route: router.routeFor(new URL(ctx.req.url ?? "/", "http://localhost").pathname),
    };
    if (error instanceof GateError && error.status < 500) {
      log.debug({ ...request, code: error.code, status: error.status }, "API request refused");
    } else {
      log.error({ ...request, err: error }, "API request failed");
    }
  });
  return router;
}
