import type { Registry } from "prom-client";
import type { Route } from "../http/router.ts";

/** GET /metrics: Prometheus text exposition of the app's own registry. */
export function metricsRoutes(registry: Registry): Route[] {
  return [
    {
      method: "GET",
      path: "/metrics",
      handler: async ({ res }) => {
        const text = await registry.metrics();
        res.writeHead(200, { "content-type": registry.contentType }).end(text);
      },
    },
  ];
}
