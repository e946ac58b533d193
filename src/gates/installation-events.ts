import type { Probot } from "probot";
import {
  recordInstallation,
  recordRepositories,
  removeInstallation,
  suspendInstallation,
  unsuspendInstallation,
} from "../installations/store.ts";
import type { GateDeps } from "./gate-deps.ts";

/**
 * Installation lifecycle: what the app is installed on decides which tokens and
 * OIDC repositories are live. Uninstalling, suspending or removing a repository
 * stops its tokens at once and rejects its pending proposals ("uninstalled");
 * nothing is deleted, so the trail stays exportable.
 */
export function registerInstallationEvents(app: Probot, deps: GateDeps): void {
  app.on("installation", async (context) => {
    const payload = context.payload;
    const installation = { id: payload.installation.id, account: accountOf(payload.installation.account) };
    const now = deps.now();
    switch (payload.action) {
      case "created":
      case "new_permissions_accepted": {
        const added = repos(payload.repositories);
        // Who installed it (the sender) is the actor of the audit event.
        await recordInstallation(deps.db, installation, now, payload.sender.login);
        await recordRepositories(deps.db, installation.id, added, [], now);
        context.log.info(
          {
            installation: installation.id,
            account: installation.account,
            repositories: added.length,
            sender: payload.sender.login,
          },
          `installation ${installation.id} recorded for ${installation.account} (${added.length} repositories); use --installation ${installation.id} or --installation ${installation.account} with the agent-gate CLI`,
        );
        return;
      }
      case "deleted":
        await removeInstallation(deps.db, installation.id, now);
        return;
      case "suspend":
        await suspendInstallation(deps.db, installation.id, now);
        return;
      case "unsuspend":
        await unsuspendInstallation(deps.db, installation.id, now);
        return;
    }
  });
  app.on("installation_repositories", async (context) => {
    const payload = context.payload;
    const now = deps.now();
    await recordInstallation(
      deps.db,
      { id: payload.installation.id, account: accountOf(payload.installation.account) },
      now,
      payload.sender.login,
    );
    await recordRepositories(
      deps.db,
      payload.installation.id,
      repos(payload.repositories_added),
      repos(payload.repositories_removed),
      now,
    );
  });
}

function accountOf(account: unknown): string {
  const value = account as { login?: string; slug?: string } | null | undefined;
  return value?.login ?? value?.slug ?? "unknown";
}

function repos(list: { id?: number; full_name?: string }[] | undefined): { id: number; full_name: string }[] {
  return (list ?? [])
    .filter(
      (repo): repo is { id: number; full_name: string } =>
        typeof repo.id === "number" && typeof repo.full_name === "string",
    )
    .map((repo) => ({ id: repo.id, full_name: repo.full_name }));
}
