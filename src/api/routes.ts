import { sendJson } from "../http/io.ts";
import { openApiDocument } from "./openapi.ts";
import type { RequestDeps } from "../requests/deps.ts";
import { proposalRoutes } from "./proposals-routes.ts";
import type { Route } from "../http/router.ts";
import { tokensRoutes } from "./tokens-routes.ts";

/** Every route of the agent API under /api/v1, for the app's router. */
export function apiRoutes(deps: RequestDeps): Route[] {
  return [
    ...proposalRoutes(deps),
    ...tokensRoutes(deps),
    {
      method: "GET",
      path: "/api/v1/openapi.json",
      handler: async ({ res }) => {
        sendJson(res, 200, openApiDocument, { "cache-control": "public, max-age=300" });
      },
    },
  ];
}
