import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { openOutreachJob } from "./outreach-publish.ts";
import { appendAudit } from "../audit/log.ts";
import { findProposal, recordCheckRunId } from "../proposals/store.ts";
import { narrowedClients, type GitHubFactory } from "../github/narrowed.ts";
import type { NarrowedClient } from "../github/operations.ts";
import { renderCheckRun } from "./render-check.ts";
import { createCheckRunOnce } from "./check-run-create.ts";
import { parseJob } from "./job-kinds.ts";
import { performMergeGroupReport } from "./merge-group-job.ts";
import { performReviewerRequest } from "./reviewer-request-job.ts";

export interface JobRow {
  id: number;
  installation_id: number;
  operation: string;
  coalesce_key: string | null;
  priority: number;
  payload: Record<string, unknown>;
  attempts: number;
}

export interface JobDeps {
  db: Database;
  /** Installation clients (Probot's); jobs narrow them with narrowedClientFor. */
  github: GitHubFactory;
  now: () => Date;
  publicUrl: string;
  /** Opens sealed outreach text; null when the app has no keyring. */
  keyring?: Keyring | null;
}

/** Each job's GitHub client: a token for its one repository and its operations' permissions only. */
export function narrowedClientFor(deps: Pick<JobDeps, "github" | "now">): NarrowedClient {
  return narrowedClients(deps.github, { now: deps.now });
}

function repoIdOf(proposal: { id: string; repo_id: number | null }): number {
  if (!proposal.repo_id)
    throw new Error(`proposal ${proposal.id} has no repository id: a narrowed token cannot be asked for`);
  return proposal.repo_id;
}

/**
 * Perform one queued GitHub write; throws to retry. A job that does not parse
 * throws MalformedJobError and a configuration problem JobConfigurationError
 * (src/outbox/job-kinds.ts), which the worker ends instead of retrying.
 */
export async function performJob(job: JobRow, deps: JobDeps): Promise<{ outcome: string }> {
  const typed = parseJob(job.operation, job.payload);
  switch (typed.kind) {
    case "check_run.sync":
      return performCheckRunSync(job, typed.payload.proposal_id, deps);
    case "deployment.review":
      return performDeploymentReview(job, typed.payload.proposal_id, deps);
    case "outreach.open":
      return openOutreachJob(job, typed.payload.proposal_id, deps);
    case "merge_group.report":
      return performMergeGroupReport(job, typed.payload, deps);
    case "reviewers.request":
      return performReviewerRequest(job, typed.payload, deps);
  }
}

async function performCheckRunSync(job: JobRow, id: string, deps: JobDeps): Promise<{ outcome: string }> {
  const proposal = await deps.db.tenant(job.installation_id, (tx) => findProposal(tx, id));
  if (!proposal) return { outcome: "missing" };
  const body = renderCheckRun(proposal, deps.publicUrl);
  const [owner, repo] = proposal.repo.split("/") as [string, string];
  const octokit = await narrowedClientFor(deps)(job.installation_id, repoIdOf(proposal), [
    "checks.listForRef",
    "checks.create",
    "checks.update",
  ]);

  let checkRunId = proposal.check_run_id;
  let method: "POST" | "PATCH" = "PATCH";
  if (!checkRunId) {
    // A create may have reached GitHub from an earlier try, of this job or of another job of this check
    // run whose process died before recording it: createCheckRunOnce finds it by its external_id first.
    const retried = job.attempts > 1 || (await claimedBefore(job, deps));
    const made = await createCheckRunOnce(octokit, proposal, { owner, repo }, body, {
      db: deps.db,
      now: deps.now,
      installationId: job.installation_id,
      retried,
    });
    checkRunId = made.id;
    method = made.created ? "POST" : "PATCH";
  }
  if (method === "PATCH") {
    const { head_sha: _sha, ...update } = body;
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      owner,
      repo,
      check_run_id: checkRunId,
      ...update,
    });
  }
  const now = deps.now();
  await deps.db.tenant(job.installation_id, async (tx) => {
    await recordCheckRunId(tx, proposal.id, checkRunId);
    await appendAudit(
      tx,
      job.installation_id,
      {
        action: "github.write",
        outcome: "ok",
        repo: proposal.repo,
        subject: proposal.id,
        data: {
          operation: method === "POST" ? "checks.create" : "checks.update",
          check_run_id: checkRunId,
          status: body.status,
          conclusion: body.conclusion ?? null,
          proposal_status: proposal.status,
        },
      },
      now,
    );
  });
  return { outcome: "done" };
}

/** Whether another job of the same check run was ever claimed (its process may have died mid-call). */
async function claimedBefore(job: JobRow, deps: JobDeps): Promise<boolean> {
  if (!job.coalesce_key) return false;
  const rows = await deps.db.query(
    "SELECT 1 FROM outbox WHERE installation_id = $1 AND coalesce_key = $2 AND id <> $3 AND attempts > 0 LIMIT 1",
    [job.installation_id, job.coalesce_key, job.id],
  );
  return rows.length > 0;
}

/**
 * Answer GitHub's deployment protection rule. GitHub refusing a second answer
 * (422: the run no longer waits) ends the job: it never sees two decisions.
 */
async function performDeploymentReview(job: JobRow, id: string, deps: JobDeps): Promise<{ outcome: string }> {
  const proposal = await deps.db.tenant(job.installation_id, (tx) => findProposal(tx, id));
  if (!proposal || (proposal.status !== "approved" && proposal.status !== "rejected"))
    return { outcome: "not_decided" };
  const runId = (proposal.details as { run_id?: number }).run_id;
  if (!runId) return { outcome: "no_run" };
  const [owner, repo] = proposal.repo.split("/") as [string, string];
  const octokit = await narrowedClientFor(deps)(job.installation_id, repoIdOf(proposal), [
    "actions.reviewCustomGatesForRun",
  ]);
  const state = proposal.status === "approved" ? "approved" : "rejected";
  const comment =
    state === "approved"
      ? `Approved through Agent Gate by ${proposal.approvers.map((a) => `@${a}`).join(", ")} (proposal ${proposal.id}).`
      : `Rejected through Agent Gate: ${proposal.reason ?? "rejected"} (proposal ${proposal.id}).`;
  let outcome = "done";
  try {
    await octokit.request("POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule", {
      owner,
      repo,
      run_id: runId,
      environment_name: proposal.environment ?? "",
      state,
      comment: comment.slice(0, 1024),
    });
  } catch (error) {
    if ((error as { status?: number }).status !== 422) throw error;
    outcome = "already_answered";
  }
  await deps.db.tenant(job.installation_id, (tx) =>
    appendAudit(
      tx,
      job.installation_id,
      {
        action: "github.write",
        outcome: outcome === "done" ? "ok" : outcome,
        repo: proposal.repo,
        subject: proposal.id,
        data: {
          operation: "deployments.review_protection_rule",
          run_id: runId,
          state,
          environment: proposal.environment,
        },
      },
      deps.now(),
    ),
  );
  return { outcome };
}
