import type { Database } from "../db/database.ts";
import { enterTenant } from "../db/tenant.ts";
import { appendAudit } from "../audit/log.ts";
import { recordUninstalled } from "../proposals/recorder-bulk.ts";

export interface InstallationRef {
  id: number;
  account: string;
}

export interface RepositoryRef {
  id: number;
  full_name: string;
}

/**
 * Installation lifecycle, called by the webhook handlers. Nothing is deleted:
 * rows are marked, so the audit trail stays exportable. Removing or suspending
 * a scope rejects its pending proposals with reason "uninstalled" and, since
 * authentication checks that the installation and repository are live, the
 * tokens for that scope stop working on the next request.
 */
export async function recordInstallation(
  db: Database,
  installation: InstallationRef,
  now: Date,
  actor: string | null = null,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO installations (id, account, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET account = EXCLUDED.account, deleted_at = NULL`,
      [installation.id, installation.account, now],
    );
    await enterTenant(tx, installation.id);
    await appendAudit(
      tx,
      installation.id,
      { action: "installation.created", outcome: "ok", subject: installation.account, actor },
      now,
    );
  });
}

export async function recordRepositories(
  db: Database,
  installationId: number,
  added: RepositoryRef[],
  removed: RepositoryRef[],
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    for (const repo of added) {
      await tx.query(
        `INSERT INTO installation_repositories (installation_id, repo_id, full_name, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (installation_id, repo_id) DO UPDATE SET full_name = EXCLUDED.full_name, removed_at = NULL`,
        [installationId, repo.id, repo.full_name, now],
      );
    }
    for (const repo of removed) {
      await tx.query(
        `UPDATE installation_repositories SET removed_at = $3
          WHERE installation_id = $1 AND repo_id = $2 AND removed_at IS NULL`,
        [installationId, repo.id, now],
      );
    }
    await enterTenant(tx, installationId);
    if (added.length > 0) {
      await appendAudit(
        tx,
        installationId,
        {
          action: "installation.repositories_added",
          outcome: "ok",
          data: { repos: added.map((repo) => repo.full_name) },
        },
        now,
      );
    }
    if (removed.length > 0) {
      await appendAudit(
        tx,
        installationId,
        {
          action: "installation.repositories_removed",
          outcome: "ok",
          data: { repos: removed.map((repo) => repo.full_name) },
        },
        now,
      );
      // Their pending proposals are rejected with reason "uninstalled" (src/proposals/recorder.ts).
      await recordUninstalled(
        tx,
        installationId,
        removed.map((repo) => repo.full_name),
        now,
      );
    }
  });
}

export async function suspendInstallation(db: Database, installationId: number, now: Date): Promise<void> {
  await markInstallation(db, installationId, "suspended_at", "installation.suspended", now);
}

export async function removeInstallation(db: Database, installationId: number, now: Date): Promise<void> {
  await markInstallation(db, installationId, "deleted_at", "installation.deleted", now);
}

export async function unsuspendInstallation(db: Database, installationId: number, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("UPDATE installations SET suspended_at = NULL WHERE id = $1", [installationId]);
    await enterTenant(tx, installationId);
    await appendAudit(tx, installationId, { action: "installation.unsuspended", outcome: "ok" }, now);
  });
}

async function markInstallation(
  db: Database,
  installationId: number,
  column: "suspended_at" | "deleted_at",
  action: string,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    const sql =
      column === "suspended_at"
        ? "UPDATE installations SET suspended_at = $2 WHERE id = $1 AND suspended_at IS NULL"
        : "UPDATE installations SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    await tx.query(sql, [installationId, now]);
    await enterTenant(tx, installationId);
    await appendAudit(tx, installationId, { action, outcome: "ok" }, now);
    await recordUninstalled(tx, installationId, null, now);
  });
}
