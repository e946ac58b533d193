import { hiddenCharacterProblem } from "../policy/reviewer-text.ts";
import type { Context, Probot } from "probot";
import { appendAudit } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { GateError } from "../errors.ts";
import type { Decision } from "../policy/decision.ts";
import { isAgent } from "../policy/eligibility.ts";
import { newProposalId } from "../proposals/ids.ts";
import { proposalDigest } from "../proposals/submit.ts";
import { findProposal, insertProposal } from "../proposals/store.ts";
import { enqueue, reviewDeployment, syncCheckRun } from "../outbox/queue.ts";
import { assertSiteVerified } from "../sites/verified.ts";
import { recordDelivery } from "../webhooks/ledger.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { loadRepoConfig } from "./repo-config.ts";
import { permissionOf } from "../github/permissions.ts";
import { castVote } from "./vote.ts";
import { recordWaiting } from "../proposals/recorder.ts";
import { teamMemberships } from "../github/team-membership.ts";

const RUN_FROM_CALLBACK = /\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/deployment_protection_rule$/;

/** The deploy gate: a custom deployment protection rule decided with a check run's buttons. */
export function registerDeployGate(app: Probot, deps: GateDeps): void {
  app.on("deployment_protection_rule.requested", (context) => onRuleRequested(context, deps));
  app.on("check_run.requested_action", (context) => onRequestedAction(context, deps));
}

async function onRuleRequested(
  context: Context<"deployment_protection_rule.requested">,
  deps: GateDeps,
): Promise<void> {
  const payload = context.payload;
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
      ? {
          status: "rejected",
          required,
          approvers: [],
          rejectedBy: [],
          refused: [],
          reasons: [refusal],
          title: `Rejected: ${refusal}`,
        }
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
        decision: decision ?? {
          title: `Waiting for approval (0/${required})`,
          approvers: [],
          refused: [],
          reasons: [],
        },
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
        actorIsAgent:
          config.ok && triggeredBy
            ? isAgent(triggeredBy, payload.sender?.type ?? "User", config.config, config.present)
            : false,
        repo,
        subject: row.id,
        data: {
          kind: "deploy",
          digest: row.digest,
          environment,
          site,
          run_id: Number(runId),
          reason: refusal,
          // GitHub accepted the name; the gate shows it visibly and says so.
          ...(hiddenCharacterProblem(environment)
            ? { environment_hidden_characters: hiddenCharacterProblem(environment) }
            : {}),
        },
      },
      now,
    );
    await enqueue(tx, syncCheckRun(row.installation_id, row.id, row.status));
    if (refusal) await enqueue(tx, reviewDeployment(row.installation_id, row.id));
    await recordWaiting(tx, row, now);
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

async function onRequestedAction(context: Context<"check_run.requested_action">, deps: GateDeps): Promise<void> {
  const payload = context.payload;
  const installationId = payload.installation?.id;
  const delivery = deliveryOf(context, deps.appId);
  const proposalId = payload.check_run.external_id ?? "";
  if (installationId === undefined || payload.check_run.app?.id !== deps.appId || !proposalId.startsWith("prp_")) {
    return; // another app's check run: not ours to record
  }
  const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, proposalId));
  if (!proposal || proposal.kind === "commit" || proposal.repo !== payload.repository.full_name) {
    await deps.db.tenant(installationId, (tx) => recordDelivery(tx, delivery, deps.now(), "unknown_proposal"));
    return;
  }
  await castVote(
    deps,
    {
      config: () => loadRepoConfig(context),
      permission: (login) => permissionOf(context, context.repo(), login),
      memberships: (teams, logins) => teamMemberships(context, teams, logins),
    },
    {
      installationId,
      proposalId,
      voter: { login: payload.sender.login, type: payload.sender.type },
      identifier: payload.requested_action?.identifier,
      via: "check_run",
      delivery,
    },
  );
}
