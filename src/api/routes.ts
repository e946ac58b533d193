import { sendJson } from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { proposalRoutes, type ApiDeps } from "./proposals-routes.ts";
import type { Route } from "./router.ts";
import { tokensRoutes } from "./tokens-routes.ts";

export type { ApiDeps } from "./proposals-routes.ts";

/** Every route of the agent API under /api/v1, for the app's router. */
export function apiRoutes(deps: ApiDeps): Route[] {
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
