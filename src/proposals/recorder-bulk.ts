import { appendAudit, type AuditInput } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { queueNotification } from "../notify/jobs.ts";
import type { RecordOptions } from "./changes.ts";
import { DECIDED_CHANNEL } from "./store.ts";

/*
 * The recorder's changes of many proposals at once (./recorder.ts records one
 * proposal's): each is one statement over the rows it selects, whose state
 * it does not read, followed by an audit event and an announcement per row.
 * test/unit/architecture-recorder.test.ts allows these two modules, and no
 * other, to write `proposals.status` or `proposals.state`.
 */

/**
 * A push to a pull request invalidates its commit proposals for other heads
 * (pending or decided): each is superseded, announced and gets a
 * `proposal.invalidated` event. Returns the proposals superseded.
 */
export async function recordSuperseded(
  tx: Queryable,
  pull: { installationId: number; repo: string; prNumber: number; headSha: string },
  actor: string | null,
  now: Date,
  options: RecordOptions = {},
): Promise<{ id: string; head_sha: string | null }[]> {
  // Superseded and announced in one round trip; the old rows' state is not read.
  const rows = await tx.query<{ id: string; head_sha: string | null; announced?: unknown }>(
    `WITH superseded AS (
       UPDATE proposals SET status = 'superseded', reason = 'a new commit was pushed', updated_at = $5,
              state = state || jsonb_build_object('superseded_by', $4::text)
        WHERE installation_id = $1 AND repo = $2 AND pr_number = $3 AND kind = 'commit'
          AND head_sha <> $4 AND status IN ('pending', 'approved', 'rejected')
        RETURNING id, head_sha)
     SELECT superseded.id, superseded.head_sha, pg_notify($6, superseded.id) AS announced FROM superseded`,
    [pull.installationId, pull.repo, pull.prNumber, pull.headSha, now, DECIDED_CHANNEL],
  );
  const superseded = rows.map(({ id, head_sha }) => ({ id, head_sha }));
  for (const old of superseded) {
    const event: AuditInput = {
      action: "proposal.invalidated",
      outcome: "superseded",
      actor,
      repo: pull.repo,
      subject: old.id,
      data: { kind: "commit", old_head: old.head_sha, new_head: pull.headSha, pr: pull.prNumber },
    };
    if (options.events) options.events.push(event);
    else await appendAudit(tx, pull.installationId, event, now);
    await queueNotification(tx, { installationId: pull.installationId, proposalId: old.id, event: "superseded" }, now);
  }
  return superseded;
}

/**
 * The pending proposals of an installation (or of the named repositories
 * only) rejected with reason "uninstalled", inside a tenant transaction: each
 * gets a `proposal.rejected` event and is announced to whoever long-polls it.
 * No GitHub write follows: the app has lost its access. Returns how many.
 */
export async function recordUninstalled(
  tx: Queryable,
  installationId: number,
  repos: string[] | null,
  now: Date,
): Promise<number> {
  const rejected = await tx.query<{ id: string; repo: string; kind: string; digest: string }>(
    `UPDATE proposals SET status = 'rejected', reason = 'uninstalled', decided_at = $3, updated_at = $3
      WHERE installation_id = $1 AND status = 'pending'
        AND ($2::text[] IS NULL OR lower(repo) = ANY (SELECT lower(name) FROM unnest($2::text[]) AS name))
      RETURNING id, repo, kind, digest`,
    [installationId, repos, now],
  );
  for (const proposal of rejected) {
    await appendAudit(
      tx,
      installationId,
      {
        action: "proposal.rejected",
        outcome: "rejected",
        repo: proposal.repo,
        subject: proposal.id,
        data: { reason: "uninstalled", kind: proposal.kind, digest: proposal.digest },
      },
      now,
    );
    await tx.query("SELECT pg_notify($1, $2)", [DECIDED_CHANNEL, proposal.id]);
  }
  return rejected.length;
}
