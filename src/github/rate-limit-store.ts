import type { Database } from "../db/database.ts";
import type { WindowState } from "./rate-limit.ts";

/** A window as kept in the database: for `agent-gate doctor` and operators, whichever replica saw it last. */
export interface StoredWindow {
  installationId: number;
  limit: number | null;
  remaining: number;
  used: number | null;
  resetAt: Date | null;
  observedAt: Date;
}

/** Record the windows this process knows (the newest observation wins across replicas). */
export async function saveRateWindows(db: Database, windows: readonly WindowState[], now: Date): Promise<void> {
  for (const w of windows) {
    await db.query(
      `INSERT INTO github_rate_limits (installation_id, rate_limit, remaining, used, reset_at, observed_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (installation_id) DO UPDATE SET rate_limit = EXCLUDED.rate_limit, remaining = EXCLUDED.remaining, used = EXCLUDED.used,
         reset_at = EXCLUDED.reset_at, observed_at = EXCLUDED.observed_at
        WHERE github_rate_limits.observed_at <= EXCLUDED.observed_at`,
      [w.installationId, w.limit ?? null, w.remaining, w.used ?? null, w.resetAt ?? null, now],
    );
  }
}

/** Every installation's window as last recorded, lowest share left first. */
export async function readRateWindows(db: Database): Promise<StoredWindow[]> {
  const rows = await db.query<{
    installation_id: string | number;
    rate_limit: number | null;
    remaining: number;
    used: number | null;
    reset_at: Date | null;
    observed_at: Date;
  }>(
    `SELECT installation_id, rate_limit, remaining, used, reset_at, observed_at FROM github_rate_limits
      ORDER BY remaining::float / greatest(coalesce(rate_limit, 5000), 1), installation_id`,
  );
  return rows.map((row) => ({
    installationId: Number(row.installation_id),
    limit: row.rate_limit,
    remaining: row.remaining,
    used: row.used,
    resetAt: row.reset_at ? new Date(row.reset_at) : null,
    observedAt: new Date(row.observed_at),
  }));
}
