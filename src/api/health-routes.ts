import type { Database } from "../db/database.ts";
import { pendingMigrations } from "../db/migrate.ts";
import { sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";

/**
 * /healthz: the process is up. /readyz: the database answers, migrations are current, the worker runs, and
 * GitHub did not refuse the App's credentials when last asked.
 */
export function healthRoutes(deps: {
  db: Database;
  worker: { lastBeat: Date | undefined };
  /** Key ids some stored value is sealed under that this process's keyring lacks. */
  missingKeys?: () => Promise<string[]>;
  /** "ok", or why GitHub refused the App's own credentials the last time it was asked. */
  githubApp?: () => string;
}): Route[] {
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
          if (deps.missingKeys) {
            // A value sealed under a key this replica lacks would answer 500 on every read of it.
            const missing = await deps.missingKeys();
            checks.keyring = missing.length === 0 ? "ok" : `missing key ids: ${missing.join(", ")}`;
          }
        } catch {
          checks.database = "unreachable";
        }
        checks.outbox_worker = deps.worker.lastBeat ? "ok" : "not started";
        if (deps.githubApp) checks.github_app = deps.githubApp();
        const ready = Object.values(checks).every((value) => value === "ok");
        sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
      },
    },
  ];
}
