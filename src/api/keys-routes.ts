import type { Database } from "../db/database.ts";
import { publishedKeys } from "../keys/store.ts";
import { sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";

/** Public receipt-signing keys, current and retired, for verifying receipts offline. */
export function keysRoutes(db: Database): Route[] {
  return [
    {
      method: "GET",
      path: "/.well-known/agent-gate/keys.json",
      handler: async ({ res }) => {
        sendJson(res, 200, await publishedKeys(db), { "cache-control": "public, max-age=300" });
      },
    },
  ];
}
