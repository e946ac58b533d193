import type { z } from "zod";
import type { Queryable } from "../db/database.ts";
import type { JOB_SCHEMAS, JobKind } from "./job-kinds.ts";

/** Workers LISTEN here; a queued write is announced at its transaction's commit. */
export const OUTBOX_CHANNEL = "agent_gate_outbox";

export interface OutboxJob {
  installationId: number;
  operation: string;
  coalesceKey: string | null;
  /** 0 = decisions (sent first), 1 = progress text */
  priority: 0 | 1;
  payload: Record<string, unknown>;
}

/** Queue a GitHub write in the caller's transaction; workers are woken on commit. */
export async function enqueue(tx: Queryable, job: OutboxJob): Promise<void> {
  // Queued and announced (delivered to listeners at commit) in one round trip.
  await tx.query(
    `WITH queued AS (
       INSERT INTO outbox (installation_id, operation, coalesce_key, priority, payload) VALUES ($1, $2, $3, $4, $5)
       RETURNING installation_id)
     SELECT pg_notify($6, installation_id::text) FROM queued`,
    [job.installationId, job.operation, job.coalesceKey, job.priority, JSON.stringify(job.payload), OUTBOX_CHANNEL],
  );
}

/*
 * One builder per job kind (src/outbox/job-kinds.ts), from plain ids: the
 * gates, the recorder and the proposal store queue GitHub writes only
 * through these and enqueue, so each kind's coalescing key, priority and
 * payload are written in one place, typed against the schema the worker
 * parses them with.
 */

type PayloadOf<K extends JobKind> = z.input<(typeof JOB_SCHEMAS)[K]>;

function job<K extends JobKind>(
  installationId: number,
  kind: K,
  coalesceKey: string,
  priority: 0 | 1,
  payload: PayloadOf<K>,
): OutboxJob {
  return { installationId, operation: kind, coalesceKey, priority, payload: { ...payload } };
}

/** Bring a proposal's check run to its current state: a decision (not pending) is sent first. */
export function syncCheckRun(installationId: number, proposalId: string, status: string): OutboxJob {
  const priority = status === "pending" ? 1 : 0;
  return job(installationId, "check_run.sync", `proposal:${proposalId}`, priority, { proposal_id: proposalId });
}

/** The deployment protection rule callback for a decided proposal; a decision, so sent first. */
export function reviewDeployment(installationId: number, proposalId: string): OutboxJob {
  return job(installationId, "deployment.review", `deployment:${proposalId}`, 0, { proposal_id: proposalId });
}

/** Publish a new outreach proposal (a pull request, or a check run); the worker reads the repository's mode. */
export function openOutreach(installationId: number, proposalId: string): OutboxJob {
  return job(installationId, "outreach.open", `outreach:${proposalId}`, 1, { proposal_id: proposalId });
}

/** The write of a merge group's `Agent Gate` check run (a decision, so sent first). */
export function reportMergeGroup(installationId: number, report: PayloadOf<"merge_group.report">): OutboxJob {
  return job(installationId, "merge_group.report", `merge_group:${report.repo}:${report.head_sha}`, 0, report);
}

/**
 * The request for reviews of a waiting head: progress, not a decision, so it
 * goes after decisions; one job per proposal (a head's request is made once,
 * src/proposals/reviewer-requests.ts).
 */
export function requestReviewers(
  installationId: number,
  proposalId: string,
  request: { prNumber: number; headSha: string; reviewers: string[]; teamReviewers: string[] },
): OutboxJob {
  return job(installationId, "reviewers.request", `reviewers:${proposalId}`, 1, {
    proposal_id: proposalId,
    pr_number: request.prNumber,
    head_sha: request.headSha,
    reviewers: request.reviewers,
    team_reviewers: request.teamReviewers,
  });
}
