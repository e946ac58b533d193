import { createCheckRunOnce } from "./check-run-create.ts";
import { appendAudit } from "../audit/log.ts";
import { recordDecision } from "../proposals/recorder.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import type { GitHubClient } from "../github/client.ts";
import { narrowedClients, type GitHubFactory } from "../github/narrowed.ts";
import { JobConfigurationError } from "./job-kinds.ts";
import { readConfigFile } from "../github/repo-config.ts";
import { repoConfigOf } from "../policy/config.ts";
import { findProposal, recordCheckRunId, type ProposalRow } from "../proposals/store.ts";
import { enqueue, syncCheckRun } from "./queue.ts";
import { renderOutreachCheck } from "./outreach-check.ts";
import { outreachBranch, outreachPath } from "../outreach/names.ts";
import { renderRedactedOutreach } from "../outreach/redacted.ts";
import { renderOutreachFile } from "../outreach/render.ts";
import { readOutreach, recordPublished } from "../outreach/store.ts";

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
  /** 1 on the first try; above it, a step of an earlier try may have reached GitHub. */
  attempts: number;
}

/**
 * Publish a new outreach proposal for review, in the mode the repository's
 * `.github/agent-gate.yml` names when the job runs (right after creation):
 * a branch, file and pull request (default), or a check run with buttons.
 * In a public repository, readable by anyone, the file, pull request and
 * check run carry only the redacted summary and the review page's link.
 *
 * Every step can be repeated: a branch, file or pull request an earlier try
 * made is found and reused, so a retry after a failure between two steps
 * converges to one branch, one file and one pull request. An invalid config
 * or a missing keyring is reported on the proposal and ends the job
 * (JobConfigurationError), as no retry can fix it.
 */
export async function openOutreachJob(job: Job, id: string, deps: OutreachJobDeps): Promise<{ outcome: string }> {
  const installationId = job.installation_id;
  const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, id));
  if (!proposal || proposal.kind !== "outreach") return { outcome: "missing" };
  if (proposal.status !== "pending" || proposal.state.mode) return { outcome: "already_open" };
  const keyring = deps.keyring;
  if (!keyring) await configurationError(deps, proposal, "no keyring to open outreach text: set AGENT_GATE_KEYS");
  const content = await deps.db.tenant(installationId, (tx) => readOutreach(tx, keyring as Keyring, id));
  if (!content) return { outcome: "missing" };

  const narrowed = narrowedClients(deps.github, { now: deps.now });
  const repoId = proposal.repo_id ?? 0;
  const [owner, repo] = proposal.repo.split("/") as [string, string];
  const reader = await narrowed(installationId, repoId, ["repos.get", "repos.getContent", "git.getRef"]);
  const { data: repository } = await reader.request("GET /repos/{owner}/{repo}", { owner, repo });
  const configFile = await readConfigFile(
    await deps.github(installationId),
    installationId,
    { owner, repo, repoId },
    {
      now: deps.now,
      ...(deps.github.decorate ? { decorate: deps.github.decorate } : {}),
    },
  );
  const read = repoConfigOf(configFile);
  if (!read.ok) {
    return configurationError(
      deps,
      proposal,
      `.github/agent-gate.yml is invalid: ${read.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
    );
  }
  const config = read.config;
  const base = repository.default_branch;
  const { data: ref } = await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
    owner,
    repo,
    ref: `heads/${base}`,
  });
  const view = { id, repo: proposal.repo, site: proposal.site ?? "", digest: proposal.digest, content };
  // A public repository is readable by anyone: it gets the redacted summary and the review page's link.
  const reviewUrl = `${deps.publicUrl.replace(/\/$/, "")}/proposals/${id}`;
  const shown = repository.private ? undefined : renderRedactedOutreach(view, reviewUrl);
  const required = config.approvals.required;
  const expiresAt = new Date(proposal.created_at.getTime() + config.expiryMs);
  const common = {
    votes: [],
    required,
    min_permission: config.approvals.minPermission,
    decision: { title: `Waiting for approval (0/${required})`, approvers: [], refused: [], reasons: [] },
  };

  if (config.outreach.mode === "check_run") {
    const published = {
      ...proposal,
      head_sha: ref.object.sha,
      state: { ...proposal.state, ...common, mode: "check_run" as const, redacted: shown !== undefined },
    };
    const checks = await narrowed(installationId, repoId, ["checks.listForRef", "checks.create"]);
    // A retry after a lost answer or a crash finds the run an earlier try made instead of making a second.
    const run = await createCheckRunOnce(
      checks,
      published,
      { owner, repo },
      renderOutreachCheck(published, deps.publicUrl, view, shown),
      {
        db: deps.db,
        now: deps.now,
        installationId,
        retried: job.attempts > 1,
      },
    );
    await deps.db.tenant(installationId, async (tx) => {
      await recordPublished(
        tx,
        proposal,
        { prNumber: null, headSha: ref.object.sha, state: published.state, expiresAt },
        deps.now(),
      );
      await recordCheckRunId(tx, id, Number(run.id));
      await audit(
        tx,
        installationId,
        proposal,
        { operation: "checks.create", check_run_id: run.id, mode: "check_run" },
        deps.now(),
      );
    });
    return { outcome: "check_run" };
  }

  const writer = await narrowed(installationId, repoId, [
    "git.createRef",
    "repos.createOrUpdateFileContents",
    "pulls.create",
    "pulls.list",
  ]);
  const branch = outreachBranch(id);
  const path = outreachPath(id);
  const retry = job.attempts > 1;
  await ensureBranch(writer, reader, { owner, repo, branch, sha: ref.object.sha });
  const file = await ensureFile(writer, reader, {
    owner,
    repo,
    branch,
    path,
    retry,
    message: `Outreach proposal ${id} (digest ${proposal.digest.slice(0, 12)})`,
    text: renderOutreachFile(view, shown ? { shown, reviewUrl } : undefined),
  });
  const pull = await ensurePull(writer, {
    owner,
    repo,
    branch,
    base,
    retry,
    title: `Outreach proposal ${id}: ${content.channel} to ${content.recipients.length} recipient${content.recipients.length === 1 ? "" : "s"}`,
    body: [
      shown
        ? `An agent asks to send the ${content.channel} summarised in \`${path}\`; read the recipients and the text on the [review page](${reviewUrl}). Approve this pull request to approve sending exactly that text; request changes or close it to reject.`
        : `An agent asks to send the ${content.channel} in \`${path}\`. Approve this pull request to approve sending exactly that text; request changes or close it to reject.`,
      "",
      ...(shown ? [...shown, ""] : []),
      `Digest \`${proposal.digest}\` · proposal \`${id}\` · [review page](${reviewUrl})`,
    ].join("\n"),
  });
  const put = { commit: { sha: file.commitSha }, content: { sha: file.blobSha } };
  await deps.db.tenant(installationId, async (tx) => {
    await recordPublished(
      tx,
      proposal,
      {
        prNumber: pull.number,
        headSha: put.commit.sha ?? "",
        state: {
          ...common,
          mode: "pull_request",
          branch,
          path,
          file_sha: put.content?.sha ?? null,
          redacted: shown !== undefined,
        },
        expiresAt,
      },
      deps.now(),
    );
    await audit(
      tx,
      installationId,
      proposal,
      { operation: "outreach.pull_request", pr: pull.number, branch, path },
      deps.now(),
    );
    await enqueue(tx, syncCheckRun(proposal.installation_id, proposal.id, proposal.status));
  });
  return { outcome: "pull_request" };
}

/** Report a configuration problem on the proposal and its audit trail, then end the job. */
async function configurationError(deps: OutreachJobDeps, proposal: ProposalRow, message: string): Promise<never> {
  await deps.db.tenant(proposal.installation_id, (tx) =>
    recordDecision(tx, proposal, { type: "config_error", message }, deps.now()),
  );
  throw new JobConfigurationError(message);
}

const status = (error: unknown) => (error as { status?: unknown }).status;

/** The outreach branch at the default branch's head, or the one an earlier try made. */
async function ensureBranch(
  writer: GitHubClient,
  reader: GitHubClient,
  o: { owner: string; repo: string; branch: string; sha: string },
): Promise<void> {
  try {
    await writer.request("POST /repos/{owner}/{repo}/git/refs", {
      owner: o.owner,
      repo: o.repo,
      ref: `refs/heads/${o.branch}`,
      sha: o.sha,
    });
  } catch (error) {
    // 422 "Reference already exists": made by an earlier try; it must be there now.
    if (status(error) !== 422) throw error;
    await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
      owner: o.owner,
      repo: o.repo,
      ref: `heads/${o.branch}`,
    });
  }
}

/**
 * The proposal's file on the branch. On a retry the file an earlier try
 * committed is reused when it has the same text, and replaced (with its sha)
 * when not; the branch's head is then the commit that holds it.
 */
async function ensureFile(
  writer: GitHubClient,
  reader: GitHubClient,
  o: { owner: string; repo: string; branch: string; path: string; retry: boolean; message: string; text: string },
): Promise<{ commitSha: string; blobSha: string | null }> {
  let existing: { sha: string; content: string } | undefined;
  if (o.retry) {
    try {
      const { data } = await reader.request("GET /repos/{owner}/{repo}/contents/{path}", {
        owner: o.owner,
        repo: o.repo,
        path: o.path,
        ref: o.branch,
      });
      if (!Array.isArray(data) && data.type === "file")
        existing = { sha: data.sha, content: Buffer.from(data.content ?? "", "base64").toString("utf8") };
    } catch (error) {
      if (status(error) !== 404) throw error;
    }
  }
  if (existing && existing.content === o.text) {
    const { data: head } = await reader.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
      owner: o.owner,
      repo: o.repo,
      ref: `heads/${o.branch}`,
    });
    return { commitSha: head.object.sha, blobSha: existing.sha };
  }
  const { data: put } = await writer.request("PUT /repos/{owner}/{repo}/contents/{path}", {
    owner: o.owner,
    repo: o.repo,
    path: o.path,
    branch: o.branch,
    message: o.message,
    content: Buffer.from(o.text, "utf8").toString("base64"),
    ...(existing ? { sha: existing.sha } : {}),
  });
  return { commitSha: put.commit.sha ?? "", blobSha: put.content?.sha ?? null };
}

/** The open pull request from the branch: the one an earlier try opened, or a new one. */
async function ensurePull(
  writer: GitHubClient,
  o: { owner: string; repo: string; branch: string; base: string; retry: boolean; title: string; body: string },
): Promise<{ number: number }> {
  const find = async () => {
    const { data } = await writer.request("GET /repos/{owner}/{repo}/pulls", {
      owner: o.owner,
      repo: o.repo,
      head: `${o.owner}:${o.branch}`,
      state: "open",
      per_page: 10,
    });
    return data.find((pull) => pull.head.ref === o.branch);
  };
  if (o.retry) {
    const found = await find();
    if (found) return { number: found.number };
  }
  try {
    const { data } = await writer.request("POST /repos/{owner}/{repo}/pulls", {
      owner: o.owner,
      repo: o.repo,
      head: o.branch,
      base: o.base,
      title: o.title,
      body: o.body,
    });
    return { number: data.number };
  } catch (error) {
    // 422 "A pull request already exists": opened by a try whose answer was lost.
    if (status(error) !== 422) throw error;
    const found = await find();
    if (!found) throw error;
    return { number: found.number };
  }
}

async function audit(
  tx: Parameters<Parameters<Database["tenant"]>[1]>[0],
  installationId: number,
  proposal: ProposalRow,
  data: Record<string, unknown>,
  now: Date,
) {
  await appendAudit(
    tx,
    installationId,
    {
      action: "github.write",
      outcome: "ok",
      repo: proposal.repo,
      subject: proposal.id,
      data: { ...data, digest: proposal.digest },
    },
    now,
  );
}
