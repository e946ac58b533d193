import { appendAudit } from "../audit/log.ts";
import { COMMIT_CHECK_NAME } from "../policy/check-names.ts";
import type { JobDeps, JobRow } from "./jobs.ts";
import { narrowedClients } from "../github/narrowed.ts";
import type { MergeGroupDecision } from "../policy/merge-group.ts";

export interface MergeGroupReport {
  repo: string;
  repo_id: number;
  head_sha: string;
  decision: MergeGroupDecision;
}

/**
 * Writes `Agent Gate`, completed, on the merge group's head. Idempotent: a
 * run this app already made for the head (found by its external id) is
 * updated rather than made twice.
 */
export async function performMergeGroupReport(
  job: JobRow,
  report: MergeGroupReport,
  deps: JobDeps,
): Promise<{ outcome: string }> {
  const [owner = "", repo = ""] = report.repo.split("/");
  const externalId = `merge_group:${report.head_sha}`;
  const octokit = await narrowedClients(deps.github, { now: deps.now })(job.installation_id, report.repo_id, [
    "checks.listForRef",
    "checks.create",
    "checks.update",
  ]);
  const body = {
    name: COMMIT_CHECK_NAME,
    external_id: externalId,
    status: "completed" as const,
    conclusion: report.decision.conclusion,
    output: { title: report.decision.title, summary: report.decision.summary },
  };
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
    owner,
    repo,
    ref: report.head_sha,
    check_name: COMMIT_CHECK_NAME,
    filter: "all",
    per_page: 100,
  });
  const found = data.check_runs.find((run) => run.external_id === externalId);
  let id: number;
  if (found) {
    id = Number(found.id);
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      owner,
      repo,
      check_run_id: id,
      ...body,
    });
  } else {
    const created = await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      owner,
      repo,
      head_sha: report.head_sha,
      ...body,
    });
    id = Number(created.data.id);
  }
  await deps.db.tenant(job.installation_id, (tx) =>
    appendAudit(
      tx,
      job.installation_id,
      {
        action: "github.write",
        outcome: "ok",
        repo: report.repo,
        subject: externalId,
        data: {
          operation: found ? "checks.update" : "checks.create",
          check_run_id: id,
          conclusion: report.decision.conclusion,
        },
      },
      deps.now(),
    ),
  );
  return { outcome: report.decision.conclusion };
}
