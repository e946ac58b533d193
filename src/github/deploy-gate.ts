import type { Context, Probot } from "probot";
import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { appendAudit } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { decideVotes, type Decision, type Vote } from "../policy/decision.ts";
import { isAgent } from "../policy/eligibility.ts";
import { newProposalId } from "../proposals/ids.ts";
import { proposalDigest } from "../proposals/submit.ts";
import {
  enqueue,
  findProposal,
  insertProposal,
  syncCheckRun,
  updateProposal,
  type ProposalRow,
} from "../proposals/store.ts";
import { assertSiteVerified } from "../sites/verified.ts";
import { recordDelivery } from "./deliveries.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { loadRepoConfig } from "./repo-config.ts";
import { permissionOf } from "./permissions.ts";

type RuleRequested = EmitterWebhookEvent<"deployment_protection_rule.requested">["payload"];
type RequestedAction = EmitterWebhookEvent<"check_run.requested_action">["payload"];

const RUN_FROM_CALLBACK = /\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/deployment_protection_rule$/;

/** The deploy gate: a custom deployment protection rule decided with a check run's buttons. */
export function registerDeployGate(app: Probot, deps: GateDeps): void {
  app.on("deployment_protection_rule.requested", (context) => onRuleRequested(context as unknown as Context, deps));
  app.on("check_run.requested_action", (context) => onRequestedAction(context as unknown as Context, deps));
}

async function onRuleRequested(context: Context, deps: GateDeps): Promise<void> {
  const payload = context.payload as unknown as RuleRequested;
  const installationId = payload.installation?.id;
  const delivery = deliveryOf(context, deps.appId);
  const environment = payload.environment ?? "";
  const sha = payload.deployment?.sha ?? "";
  const runId = RUN_FROM_CALLBACK.exec(new URL(payload.deployment_callback_url ?? "http://invalid/").pathname)?.[1];
  if (installationId === undefined || !environment || !/^[0-9a-f]{40}$/.test(sha) || !runId) {
    // Nothing can be called back; nothing is approved. The audit trail says why.
    await deps.db.tenant(installationId ?? 0, (tx) => recordDelivery(tx, delivery, deps.now(), "unusable"));
    context.log.warn("deployment_protection_rule without installation, environment, sha or run id; ignored");
    return;
  }
  const repo = payload.repository.full_name;
  const config = await loadRepoConfig(context);
  const triggeredBy = payload.sender?.login ?? null;
  const author = payload.deployment?.creator?.login ?? triggeredBy ?? "unknown";
  const site = config.ok ? (config.config.deploy.environments[environment] ?? null) : null;
  const now = deps.now();

  await deps.db.tenant(installationId, async (tx) => {
    await recordDelivery(tx, delivery, now);
    let refusal: string | null = config.ok ? null : "configuration error in .github/agent-gate.yml";
    if (!refusal && site) refusal = await siteRefusal(tx, installationId, site, now);
    const expiryMs = config.ok ? config.config.expiryMs : 0;
    const required = config.ok ? config.config.approvals.required : 1;
    const decision: Decision | null = refusal
      ? { status: "rejected", required, approvers: [], rejectedBy: [], refused: [], reasons: [refusal], title: `Rejected: ${refusal}` }
      : null;
    const row = await insertProposal(tx, {
      id: newProposalId(),
      installationId,
      repo,
      repoId: payload.repository.id,
      kind: "deploy",
      status: refusal ? "rejected" : "pending",
      digest: proposalDigest({ kind: "deploy", repo, sha, environment, site: site ?? undefined }),
      headSha: sha,
      prNumber: null,
      author,
      environment,
      site,
      summary: `Deploy ${sha.slice(0, 7)} (${payload.deployment?.ref ?? "unknown ref"}) to ${environment}`,
      details: {
        source: "deployment_protection_rule",
        run_id: Number(runId),
        ref: payload.deployment?.ref ?? null,
        event: payload.event ?? null,
        triggered_by: triggeredBy,
      },
      state: {
        votes: [],
        required,
        min_permission: config.ok ? config.config.approvals.minPermission : "write",
        decision: decision ?? { title: `Waiting for approval (0/${required})`, approvers: [], refused: [], reasons: [] },
        config_errors: config.ok ? [] : config.errors,
        config_digest: config.ok ? config.digest : null,
      },
      reason: refusal,
      decidedAt: refusal ? now : null,
      expiresAt: new Date(now.getTime() + expiryMs),
      now,
    });
    await appendAudit(
      tx,
      installationId,
      {
        action: "proposal.created",
        outcome: row.status,
        actor: author,
        actorIsBot: payload.sender?.type === "Bot",
        actorIsAgent: config.ok && triggeredBy ? isAgent(triggeredBy, payload.sender?.type ?? "User", config.config, config.present) : false,
        repo,
        subject: row.id,
        data: { kind: "deploy", digest: row.digest, environment, site, run_id: Number(runId), reason: refusal },
      },
      now,
    );
    await enqueue(tx, syncCheckRun(row));
    if (refusal) await enqueue(tx, reviewDeployment(row));
  });
}

async function siteRefusal(tx: Queryable, installationId: number, site: string, now: Date): Promise<string | null> {
  try {
    await assertSiteVerified(tx, installationId, site, now);
    return null;
  } catch (error) {
    if (error instanceof GateError && error.status < 500) return error.message;
    throw error;
  }
}

async function onRequestedAction(context: Context, deps: GateDeps): Promise<void> {
  const payload = context.payload as unknown as RequestedAction;
  const installationId = payload.installation?.id;
  const delivery = deliveryOf(context, deps.appId);
  const proposalId = payload.check_run.external_id ?? "";
  const identifier = payload.requested_action?.identifier;
  if (installationId === undefined || payload.check_run.app?.id !== deps.appId || !proposalId.startsWith("prp_")) {
    return; // another app's check run: not ours to record
  }
  const now = deps.now();
  const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, proposalId));
  if (!proposal || proposal.kind === "commit" || proposal.repo !== payload.repository.full_name) {
    await deps.db.tenant(installationId, (tx) => recordDelivery(tx, delivery, now, "unknown_proposal"));
    return;
  }
  const sender = { login: payload.sender.login, type: payload.sender.type };
  const config = await loadRepoConfig(context);
  const permission = sender.type === "Bot" ? "none" : await permissionOf(context, context.repo(), sender.login);

  await deps.db.tenant(installationId, async (tx) => {
    await recordDelivery(tx, delivery, now);
    const current = await findProposal(tx, proposalId, true);
    if (!current) return;
    const vote: Vote | null =
      identifier === "approve" || identifier === "reject"
        ? { actor: { login: sender.login, type: sender.type, permission }, vote: identifier, at: now.toISOString() }
        : null;
    const byReview = current.state.mode === "pull_request";
    if (!vote || current.status !== "pending" || !config.ok || byReview) {
      const why = !vote
        ? "unknown action"
        : current.status !== "pending"
          ? `already ${current.status}`
          : byReview
            ? "decided by a review of its pull request, not by buttons"
            : "configuration error";
      await appendAudit(tx, installationId, {
        action: "vote.ignored",
        outcome: "ignored",
        actor: sender.login,
        actorIsBot: sender.type === "Bot",
        repo: current.repo,
        subject: current.id,
        data: { identifier: identifier ?? null, reason: why },
      }, now);
      return;
    }
    const votes = [...(((current.state.votes as Vote[] | undefined) ?? [])), vote];
    const details = current.details as { triggered_by?: string | null };
    const decision = decideVotes(votes, {
      author: current.author ?? "",
      triggeredBy: details.triggered_by ?? null,
      config: config.config,
      configPresent: config.present,
    });
    const refused = decision.refused.find((r) => r.login.toLowerCase() === sender.login.toLowerCase());
    await appendAudit(tx, installationId, {
      action: "vote.recorded",
      outcome: refused ? "refused" : "counted",
      actor: sender.login,
      actorIsBot: sender.type === "Bot",
      actorIsAgent: isAgent(sender.login, sender.type, config.config, config.present),
      repo: current.repo,
      subject: current.id,
      data: { vote: vote.vote, permission, reason: refused?.reason ?? null },
    }, now);
    await applyDecision(tx, current, decision, votes, now, installationId);
  });
}

/** Store a tally; when it decides, queue the deployment callback ahead of the check-run text. */
export async function applyDecision(
  tx: Queryable,
  proposal: ProposalRow,
  decision: Decision,
  votes: Vote[],
  now: Date,
  installationId: number,
): Promise<void> {
  const decided = decision.status !== "pending";
  await updateProposal(tx, proposal.id, {
    status: decision.status,
    state: { ...proposal.state, votes, decision, required: decision.required },
    approvers: decision.approvers,
    reason: decision.status === "rejected" ? (decision.reasons[0] ?? "rejected") : null,
    decidedAt: decided ? now : null,
    now,
  });
  await appendAudit(tx, installationId, {
    action: "decision.recorded",
    outcome: decision.status,
    repo: proposal.repo,
    subject: proposal.id,
    data: {
      kind: proposal.kind,
      digest: proposal.digest,
      decision: { status: decision.status, title: decision.title, approvers: decision.approvers, rejected_by: decision.rejectedBy },
    },
  }, now);
  const updated = { ...proposal, status: decision.status };
  if (decided && (proposal.details as { run_id?: number }).run_id) await enqueue(tx, reviewDeployment(updated));
  await enqueue(tx, syncCheckRun(updated));
}

/** The deployment protection rule callback for a decided proposal; a decision, so sent first. */
export function reviewDeployment(proposal: { id: string; installation_id: number }) {
  return {
    installationId: proposal.installation_id,
    operation: "deployment.review",
    coalesceKey: `deployment:${proposal.id}`,
    priority: 0 as const,
    payload: { proposal_id: proposal.id },
  };
}
