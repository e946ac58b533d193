import type { Database } from "../db/database.ts";
import { pendingMigrations } from "../db/migrate.ts";
import { sendJson } from "./http.ts";
import type { Route } from "./router.ts";

/** /healthz: the process is up. /readyz: the database answers, migrations are current, the worker runs. */
export function healthRoutes(deps: { db: Database; worker: { lastBeat: Date | undefined } }): Route[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      handler: async ({ res }) => sendJson(res, 200, { status: "ok" }),
    },
    {
      method: "GET",
      path: "/readyz",
      handler: async ({ res }) => {
        const checks: Record<string, string> = {};
        try {
          await deps.db.query("SELECT 1");
          checks.database = "ok";
          const pending = await pendingMigrations(deps.db);
          checks.migrations = pending.length === 0 ? "ok" : `pending: ${pending.join(", ")}`;
        } catch {
          checks.database = "unreachable";
        }
        checks.outbox_worker = deps.worker.lastBeat ? "ok" : "not started";
        const ready = Object.values(checks).every((value) => value === "ok");
        sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
      },
    },
  ];
}
