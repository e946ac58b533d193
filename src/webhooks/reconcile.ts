import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { startLoop, type Loop } from "../loop.ts";
import type { GitHubClient } from "../github/client.ts";
import type { RateLimits } from "../github/rate-limit.ts";
import { insertDeliveries, pruneProcessed } from "./inbox.ts";
import { RETENTION_MS } from "./recover.ts";
import { subjectOf } from "./subject.ts";

export interface ReconcileDeps {
  db: Database;
  appId: number;
  /** An Octokit authenticated as the installation. */
  github: (installationId: number) => Promise<GitHubClient>;
  now: () => Date;
  log: Logger;
  /** Pull requests read from GitHub per sweep at most (reads are cheap; the writes they cause go through the paced outbox). */
  limit?: number;
  /** GitHub's rate-limit windows: an installation low on its limit is not reconciled until its reset. */
  rateLimits?: RateLimits;
}

export interface ReconcileResult {
  read: number;
  queued: number;
  /** Pull requests GitHub answered 304 Not Modified: unchanged since the last sweep, nothing queued, nothing counted. */
  unchanged: number;
  /** Installations left for a later sweep because less than a tenth of their rate limit remains. */
  deferred: number;
}

/** Who a reconciliation delivery comes from, in the audit trail. */
export const RECONCILE_SENDER = { login: "agent-gate[reconcile]", id: 0, type: "Bot" } as const;

interface PendingPull {
  id: string;
  repo: string;
  pr_number: number;
  head_sha: string | null;
  kind: string;
}

/**
 * A delivery lost beyond GitHub's delivery log still converges: every pending
 * proposal decided on a pull request (commit, outreach pull request) is read
 * again from GitHub (the pull request's current head and state), conditionally:
 * a pull request GitHub answers 304 has not changed since the last sweep read
 * it, costs nothing against the rate limit and queues nothing. Otherwise a
 * `pull_request` delivery built from that state is recorded in the inbox, in
 * the pull request's subject. The processor hands it to the same gate the
 * webhook path uses, in order with the real deliveries, exactly once: the gate
 * reads the config and reviews afresh, and only the proposal of the head
 * GitHub shows now can change.
 */
export async function reconcilePending(deps: ReconcileDeps): Promise<ReconcileResult> {
  const limit = deps.limit ?? 100;
  let read = 0;
  let queued = 0;
  let unchanged = 0;
  let deferred = 0;
  for (const installationId of await knownInstallations(deps.db)) {
    if (read >= limit) break;
    // Reconciliation is not urgent: an installation low on its rate limit keeps what is left for decisions.
    const until = deps.rateLimits?.deferUntil(installationId);
    if (until) {
      deferred += 1;
      deps.log.info(
        { installation: installationId, until: until.toISOString() },
        "reconciliation deferred until the rate limit resets",
      );
      continue;
    }
    const pending = await deps.db.tenant(installationId, (tx) =>
      tx.query<PendingPull & Record<string, unknown>>(
        `SELECT id, repo, pr_number, head_sha, kind FROM proposals
          WHERE status = 'pending' AND pr_number IS NOT NULL AND kind IN ('commit', 'outreach')
          ORDER BY updated_at LIMIT $1`,
        [limit - read],
      ),
    );
    if (pending.length === 0) continue;
    const github = await deps.github(installationId);
    for (const proposal of pending) {
      read += 1;
      const [owner, repo] = proposal.repo.split("/") as [string, string];
      let pull: Record<string, unknown> & { state?: unknown; number?: unknown; base?: { repo?: unknown } };
      try {
        // Conditional (the client's ETag cache): 304 means nothing changed since the last sweep read it.
        const answer = await github.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
          owner,
          repo,
          pull_number: proposal.pr_number,
        });
        if ((answer.status as number) === 304) {
          unchanged += 1;
          continue;
        }
        pull = answer.data as Record<string, unknown> & {
          state?: unknown;
          number?: unknown;
          base?: { repo?: unknown };
        };
      } catch (error) {
        deps.log.warn(
          { err: error, proposal: proposal.id },
          "reconciliation could not read the pull request; tried at the next sweep",
        );
        continue;
      }
      // A closed pull request matters only to an outreach proposal (closing it withdraws the proposal).
      if (pull.state !== "open" && proposal.kind !== "outreach") continue;
      const payload = {
        action: pull.state === "open" ? "synchronize" : "closed",
        number: pull.number,
        pull_request: pull,
        repository: pull.base?.repo,
        installation: { id: installationId },
        sender: RECONCILE_SENDER,
      };
      const deliveryId = `reconcile-${randomUUID()}`;
      await insertDeliveries(deps.db, deps.appId, [
        {
          deliveryId,
          event: "pull_request",
          action: payload.action,
          installationId,
          subject: subjectOf("pull_request", deliveryId, payload),
          payload: JSON.stringify(payload),
          receivedAt: deps.now(),
        },
      ]);
      queued += 1;
    }
  }
  // Processed deliveries past GitHub's redelivery window are no longer needed to recognise a redelivery.
  await pruneProcessed(deps.db, new Date(deps.now().getTime() - 2 * RETENTION_MS));
  return { read, queued, unchanged, deferred };
}

/** Installations the app knows of: recorded by installation events, or seen in the inbox. */
async function knownInstallations(db: Database): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `SELECT id FROM installations WHERE deleted_at IS NULL
     UNION SELECT DISTINCT installation_id FROM webhook_inbox WHERE installation_id IS NOT NULL
     ORDER BY id`,
  );
  return rows.map((row) => row.id);
}

/** Run `fn` only when this holder gets the named lease (one replica at a time); false when another holds it. */
export async function underLease(
  db: Database,
  name: string,
  holder: string,
  now: Date,
  ms: number,
  fn: () => Promise<unknown>,
): Promise<boolean> {
  const taken = await db.query(
    `INSERT INTO sweep_leases (name, holder, lease_until) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
      WHERE sweep_leases.lease_until < $4 OR sweep_leases.holder = $2
     RETURNING name`,
    [name, holder, new Date(now.getTime() + ms), now],
  );
  if (taken.length === 0) return false;
  try {
    await fn();
  } finally {
    await db.query("UPDATE sweep_leases SET lease_until = $3 WHERE name = $1 AND holder = $2", [name, holder, now]);
  }
  return true;
}

/** Reconciles at start-up and every `intervalMs` (one replica at a time). */
export function startReconcile(deps: ReconcileDeps, intervalMs: number, holder: string): Loop {
  const underOurLease = () =>
    underLease(deps.db, "reconcile", holder, deps.now(), 10 * 60_000, () => reconcilePending(deps));
  return startLoop("reconciliation", underOurLease, intervalMs, deps.log, { atStart: true });
}
