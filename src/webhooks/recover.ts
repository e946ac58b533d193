import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { startLoop, type Loop } from "../loop.ts";
import { heldDeliveries } from "./inbox.ts";
import type { PipelineMetrics } from "./webhook-metrics.ts";

/** What the sweep needs of GitHub, authenticated as the App (JWT). */
export interface AppClient {
  request(
    route: string,
    parameters?: Record<string, unknown>,
  ): Promise<{ data: unknown; headers: Record<string, string | number | undefined> }>;
}

/** One attempt in the App's delivery log (GET /app/hook/deliveries). */
interface LoggedAttempt {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
}

export interface RecoveryDeps {
  db: Database;
  appId: number;
  app: () => Promise<AppClient>;
  now: () => Date;
  log: Logger;
  holder: string;
  metrics?: PipelineMetrics;
  /** How long a sweep's lease lasts: a replica killed mid-sweep holds it no longer (default 3 minutes). */
  leaseMs?: number;
}

/** GitHub keeps deliveries for redelivery three days; the sweep reads back no further. */
export const RETENTION_MS = 3 * 24 * 3600_000;
const LEASE_MS = 3 * 60_000;
const MAX_PAGES = 200;

export interface SweepResult {
  swept: boolean;
  seen: number;
  requested: number;
}

/**
 * GitHub does not redeliver a failed delivery by itself. This sweep reads
 * the App's delivery log, newest first, back to where the last sweep ended
 * (or GitHub's retention), and asks GitHub to redeliver every delivery whose
 * attempts all failed (status not OK, a non-2xx status code, or 0 when the
 * app could not be reached) and that the inbox does not hold. One replica
 * sweeps at a time: the sweep holds a lease row.
 */
export async function sweepDeliveryLog(deps: RecoveryDeps): Promise<SweepResult> {
  const now = deps.now();
  const lease = await takeLease(deps, now);
  if (!lease) return { swept: false, seen: 0, requested: 0 };
  let newest = lease.lastSeenId;
  let seen = 0;
  let requested = 0;
  try {
    const client = await deps.app();
    const oldest = now.getTime() - RETENTION_MS;
    const attempts = new Map<string, LoggedAttempt[]>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await client.request("GET /app/hook/deliveries", {
        per_page: 100,
        ...(cursor ? { cursor } : {}),
      });
      const items = response.data as LoggedAttempt[];
      let reachedEnd = false;
      for (const item of items) {
        if (lease.lastSeenId !== null && item.id <= lease.lastSeenId) {
          reachedEnd = true;
          break;
        }
        if (Date.parse(item.delivered_at) < oldest) {
          reachedEnd = true;
          break;
        }
        seen += 1;
        newest = newest === null ? item.id : Math.max(newest, item.id);
        const list = attempts.get(item.guid) ?? [];
        list.push(item);
        attempts.set(item.guid, list);
      }
      cursor = nextCursor(response.headers.link);
      if (reachedEnd || !cursor || items.length === 0) break;
    }
    const failed = [...attempts.entries()].filter(([, list]) => list.every((a) => !succeeded(a)));
    const held = await heldDeliveries(
      deps.db,
      deps.appId,
      failed.map(([guid]) => guid),
    );
    for (const [guid, list] of failed) {
      if (held.has(guid)) continue;
      const latest = list.reduce((a, b) => (a.id > b.id ? a : b));
      try {
        await client.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: latest.id });
        requested += 1;
        deps.metrics?.redeliveries.inc({ outcome: "requested" });
      } catch (error) {
        deps.metrics?.redeliveries.inc({ outcome: "failed" });
        deps.log.warn({ err: error, delivery: guid }, "redelivery could not be requested; the next sweep asks again");
        // Not past this attempt: the next sweep must see it again.
        newest = newest === null ? null : Math.min(newest, latest.id - 1);
      }
    }
    if (requested > 0) deps.log.info({ requested, seen }, "asked GitHub to redeliver failed webhook deliveries");
  } finally {
    await releaseLease(deps, newest, deps.now());
  }
  return { swept: true, seen, requested };
}

function succeeded(attempt: LoggedAttempt): boolean {
  return attempt.status_code >= 200 && attempt.status_code < 400 && attempt.status === "OK";
}

function nextCursor(link: string | number | undefined): string | undefined {
  if (typeof link !== "string") return undefined;
  const next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
  return next ? (new URL(next).searchParams.get("cursor") ?? undefined) : undefined;
}

async function takeLease(deps: RecoveryDeps, now: Date): Promise<{ lastSeenId: number | null } | null> {
  const [row] = await deps.db.query<{ last_seen_id: number | null }>(
    `INSERT INTO webhook_recovery (app_id, lease_until, lease_holder) VALUES ($1, $2, $3)
     ON CONFLICT (app_id) DO UPDATE SET lease_until = EXCLUDED.lease_until, lease_holder = EXCLUDED.lease_holder
      WHERE webhook_recovery.lease_until IS NULL OR webhook_recovery.lease_until < $4 OR webhook_recovery.lease_holder = $3
     RETURNING last_seen_id`,
    [deps.appId, new Date(now.getTime() + (deps.leaseMs ?? LEASE_MS)), deps.holder, now],
  );
  return row ? { lastSeenId: row.last_seen_id } : null;
}

async function releaseLease(deps: RecoveryDeps, lastSeenId: number | null, now: Date): Promise<void> {
  await deps.db.query(
    `UPDATE webhook_recovery SET last_seen_id = $2, swept_at = $3, lease_until = NULL, lease_holder = NULL
      WHERE app_id = $1 AND lease_holder = $4`,
    [deps.appId, lastSeenId, now, deps.holder],
  );
}

/** Sweeps at start-up and every `intervalMs` (a lease of three intervals, at least 10 s); a sweep still paging skips a tick. */
export function startRecovery(deps: RecoveryDeps, intervalMs: number): Loop {
  const leased = { ...deps, leaseMs: deps.leaseMs ?? Math.max(10_000, 3 * intervalMs) };
  return startLoop("delivery-log sweep", () => sweepDeliveryLog(leased), intervalMs, deps.log, { atStart: true });
}
