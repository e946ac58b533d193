import type { Database } from "../db/database.ts";
import type { GitHubClient } from "../github/client.ts";
import { checkRunCreateTried, recordCheckRunCreating, type ProposalRow } from "../proposals/store.ts";

/** The create request's body: what the run shows, named and bound to its head and proposal. */
export type CheckRunBody = { name: string; head_sha: string; external_id: string } & object;

export interface CreateOnce {
  db: Database;
  now: () => Date;
  /** The job's installation, for the tenant transaction that records the try. */
  installationId: number;
  /** An earlier try of this write may have reached GitHub (the job was claimed before). */
  retried: boolean;
}

/**
 * Create a proposal's check run at most once. A try is recorded before the
 * request; when an earlier one's outcome is unknown (recorded and no run id
 * known, or the job retried), the runs on the head are listed first and the
 * one whose `external_id` is the proposal's is returned instead of making a
 * second. Returns the run's id and whether it was created now.
 */
export async function createCheckRunOnce(
  octokit: GitHubClient,
  proposal: ProposalRow,
  repo: { owner: string; repo: string },
  body: CheckRunBody,
  o: CreateOnce,
): Promise<{ id: number; created: boolean }> {
  if (o.retried || checkRunCreateTried(proposal, body.head_sha)) {
    const found = await findByExternalId(octokit, repo, body);
    if (found !== null) return { id: found, created: false };
  }
  await o.db.tenant(o.installationId, (tx) => recordCheckRunCreating(tx, proposal.id, body.head_sha, o.now()));
  const { data } = await octokit.request("POST /repos/{owner}/{repo}/check-runs", { ...repo, ...body });
  return { id: Number(data.id), created: true };
}

/** The run of this name on the head whose external_id is the proposal's, or null. */
async function findByExternalId(
  octokit: GitHubClient,
  repo: { owner: string; repo: string },
  body: CheckRunBody,
): Promise<number | null> {
  for (let page = 1; page <= 10; page += 1) {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
      ...repo,
      ref: body.head_sha,
      check_name: body.name,
      filter: "all",
      per_page: 100,
      page,
    });
    const found = data.check_runs.find((run) => run.external_id === body.external_id);
    if (found) return Number(found.id);
    if (data.check_runs.length < 100) return null;
  }
  return null;
}
