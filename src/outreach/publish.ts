import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import type { GitHubClient } from "../github/client.ts";
import { narrowedClients, type GitHubFactory } from "../github/narrowed.ts";
import { parseConfig, type GateConfig } from "../policy/config.ts";
import { enqueue, findProposal, syncCheckRun, type ProposalRow } from "../proposals/store.ts";
import { renderOutreachCheck } from "./check.ts";
import { outreachBranch, outreachPath } from "./names.ts";
import { renderRedactedOutreach } from "./redacted.ts";
import { renderOutreachFile } from "./render.ts";
import { readOutreach, recordPublished } from "./store.ts";

export interface OutreachJobDeps {
  db: Database;
  github: GitHubFactory;
  now: () => Date;
  publicUrl: string;
  /** The keyring that opens outreach text: the app's (AGENT_GATE_KEYS, or the one created in the PGlite data dir). */
  keyring?: Keyring | null;
}

interface Job {
  installation_id: number;
  payload: Record<string, unknown>;
}

/**
 * Publish a new outreach proposal for review, in the mode the repository's
 * `.github/agent-gate.yml` names when the job runs (right after creation):
 * a branch, file and pull request (default), or a check run with buttons.
 * In a public repository, readable by anyone, the file, pull request and
 * check run carry only the redacted summary and the review page's link.
 */
export async function openOutreachJob(job: Job, deps: OutreachJobDeps): Promise<{ outcome: string }> {
  const id = String(job.payload.proposal_id);
  const installationId = job.installation_id;
  const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, id));
  if (!proposal || proposal.kind !== "outreach") return { outcome: "missing" };
  if (proposal.status !== "pending" || proposal.state.mode) return { outcome: "already_open" };
  const keyring = deps.keyring;
  if (!keyring) throw new Error("no keyring to open outreach text: set AGENT_GATE_KEYS");
  const content = await deps.db.tenant(installationId, (tx) => readOutreach(tx, keyring, id));
  if (!content) return { outcome: "missing" };

  const narrowed = narrowedClients(deps.github, { now: deps.now });
  const repoId = proposal.repo_id ?? 0;
  const [owner, repo] = proposal.repo.split("/") as [string, string];
  const reader = await narrowed(installationId, repoId, ["repos.get", "repos.getContent", "git.getRef"]);
  const { data: repository } = await reader.request("GET /repos/{owner}/{repo}", { owner, repo });
  const config = await readConfig(reader, owner, repo);
  const base = repository.default_branch;
  const { data: ref } = await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", { owner, repo, ref: `heads/${base}` });
  const view = { id, repo: proposal.repo, site: proposal.site ?? "", digest: proposal.digest, content };
  // A public repository is readable by anyone: it gets the redacted summary and the review page's link.
  const reviewUrl = `${deps.publicUrl.replace(/\/$/, "")}/proposals/${id}`;
  const shown = repository.private ? undefined : renderRedactedOutreach(view, reviewUrl);
  const required = config.approvals.required;
  const expiresAt = new Date(proposal.created_at.getTime() + config.expiryMs);
  const common = { votes: [], required, min_permission: config.approvals.minPermission, decision: { title: `Waiting for approval (0/${required})`, approvers: [], refused: [], reasons: [] } };

  if (config.outreach.mode === "check_run") {
    const published = { ...proposal, head_sha: ref.object.sha, state: { ...proposal.state, ...common, mode: "check_run", redacted: shown !== undefined } };
    const checks = await narrowed(installationId, repoId, ["checks.create"]);
    const { data: run } = await checks.request("POST /repos/{owner}/{repo}/check-runs", {
      owner,
      repo,
      ...renderOutreachCheck(published, deps.publicUrl, view, shown),
    });
    await deps.db.tenant(installationId, async (tx) => {
      await recordPublished(tx, id, { prNumber: null, headSha: ref.object.sha, state: published.state, expiresAt });
      await tx.query("UPDATE proposals SET check_run_id = $2 WHERE id = $1", [id, run.id]);
      await audit(tx, installationId, proposal, { operation: "checks.create", check_run_id: run.id, mode: "check_run" }, deps.now());
    });
    return { outcome: "check_run" };
  }

  const writer = await narrowed(installationId, repoId, ["git.createRef", "repos.createOrUpdateFileContents", "pulls.create"]);
  const branch = outreachBranch(id);
  const path = outreachPath(id);
  await writer.request("POST /repos/{owner}/{repo}/git/refs", { owner, repo, ref: `refs/heads/${branch}`, sha: ref.object.sha });
  const { data: put } = await writer.request("PUT /repos/{owner}/{repo}/contents/{path}", {
    owner,
    repo,
    path,
    branch,
    message: `Outreach proposal ${id} (digest ${proposal.digest.slice(0, 12)})`,
    content: Buffer.from(renderOutreachFile(view, shown), "utf8").toString("base64"),
  });
  const { data: pull } = await writer.request("POST /repos/{owner}/{repo}/pulls", {
    owner,
    repo,
    head: branch,
    base,
    title: `Outreach proposal ${id}: ${content.channel} to ${content.recipients.length} recipient${content.recipients.length === 1 ? "" : "s"}`,
    body: [
      `An agent asks to send the ${content.channel} in \`${path}\`. Approve this pull request to approve sending exactly that text; request changes or close it to reject.`,
      "",
      ...(shown ? [...shown, ""] : []),
      `Digest \`${proposal.digest}\` · proposal \`${id}\` · [review page](${reviewUrl})`,
    ].join("\n"),
  });
  await deps.db.tenant(installationId, async (tx) => {
    await recordPublished(tx, id, {
      prNumber: pull.number,
      headSha: put.commit.sha ?? "",
      state: { ...common, mode: "pull_request", branch, path, file_sha: put.content?.sha ?? null, redacted: shown !== undefined },
      expiresAt,
    });
    await audit(tx, installationId, proposal, { operation: "outreach.pull_request", pr: pull.number, branch, path }, deps.now());
    await enqueue(tx, syncCheckRun(proposal));
  });
  return { outcome: "pull_request" };
}

async function readConfig(octokit: GitHubClient, owner: string, repo: string): Promise<GateConfig> {
  const { config } = await octokit.config.get({ owner, repo, path: ".github/agent-gate.yml" });
  const present = config !== null && config !== undefined && Object.keys(config).length > 0;
  const parsed = parseConfig(config, present);
  if (!parsed.ok) throw new Error(`.github/agent-gate.yml is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
  return parsed.config;
}

async function audit(tx: Parameters<Parameters<Database["tenant"]>[1]>[0], installationId: number, proposal: ProposalRow, data: Record<string, unknown>, now: Date) {
  await appendAudit(tx, installationId, {
    action: "github.write",
    outcome: "ok",
    repo: proposal.repo,
    subject: proposal.id,
    data: { ...data, digest: proposal.digest },
  }, now);
}
