import type { Queryable } from "../db/database.ts";

/** One installation as an admin sees it: who it is for, what it covers, when it was recorded. */
export interface InstallationView {
  id: number;
  account: string;
  repositories: string[];
  created_at: Date;
  state: "active" | "suspended" | "deleted";
}

interface InstallationRow {
  id: string | number;
  account: string;
  created_at: Date;
  suspended_at: Date | null;
  deleted_at: Date | null;
  repositories: string[] | null;
}

/** Every installation the app has recorded from GitHub's installation webhooks, oldest first. */
export async function listInstallations(db: Queryable): Promise<InstallationView[]> {
  const rows = await db.query<InstallationRow & Record<string, unknown>>(
    `SELECT i.id, i.account, i.created_at, i.suspended_at, i.deleted_at,
            (SELECT array_agg(r.full_name ORDER BY r.full_name)
               FROM installation_repositories r
              WHERE r.installation_id = i.id AND r.removed_at IS NULL) AS repositories
       FROM installations i
      ORDER BY i.created_at, i.id`,
    [],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    account: row.account,
    repositories: row.repositories ?? [],
    created_at: row.created_at,
    state: row.deleted_at ? "deleted" : row.suspended_at ? "suspended" : "active",
  }));
}

/** The ids of the live installations on this account (logins compare case-insensitively, as GitHub's do). */
export async function installationsOfAccount(db: Queryable, account: string): Promise<number[]> {
  const rows = await db.query<{ id: string | number }>(
    "SELECT id FROM installations WHERE lower(account) = lower($1) AND deleted_at IS NULL ORDER BY id",
    [account],
  );
  return rows.map((row) => Number(row.id));
}

/**
 * The installations that cover a repository (owner/name, compared
 * case-insensitively), with its id and name as GitHub last reported them.
 */
export async function installationsOfRepository(
  db: Queryable,
  fullName: string,
): Promise<{ installation_id: number; repo_id: number; full_name: string }[]> {
  const rows = await db.query<{ installation_id: string | number; repo_id: string | number; full_name: string }>(
    `SELECT r.installation_id, r.repo_id, r.full_name FROM installation_repositories r
       JOIN installations i ON i.id = r.installation_id
      WHERE lower(r.full_name) = lower($1) AND r.removed_at IS NULL AND i.deleted_at IS NULL
      ORDER BY r.installation_id`,
    [fullName],
  );
  return rows.map((row) => ({
    installation_id: Number(row.installation_id),
    repo_id: Number(row.repo_id),
    full_name: row.full_name,
  }));
}
