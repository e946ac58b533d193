import { appendAudit } from "../audit/log.ts";
import type { Queryable } from "../db/database.ts";
import { decideOutreachReviews, factsDigest, type OutreachReviewFacts } from "../policy/decision.ts";
import type { GateConfig } from "../policy/config.ts";
import { findProposal, moveOutreachHead, type ProposalRow } from "../proposals/store.ts";
import { storeDecision } from "../proposals/apply-decision.ts";
import { proposalOfBranch } from "../outreach/names.ts";
import { findOutreachByPull, rejectOutreach } from "../outreach/store.ts";
import { recordDelivery } from "../webhooks/ledger.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import type { PullContext } from "./pull-event.ts";
import { narrowedForEvent } from "../github/narrowed.ts";
import { loadRepoConfig } from "./repo-config.ts";
import { gatherReviews } from "../github/reviews.ts";
import { neverApproves } from "../policy/logins.ts";
import { gatherProposalMemberships, proposalRuleFacts, proposalRuleSubject } from "./proposal-rule-facts.ts";
import { teamMemberships, type TeamMemberships } from "../github/team-membership.ts";
import { reviewersToRequest } from "../policy/reviewer-requests.ts";

export const CONTENT_CHANGED = "content changed";

interface PublishedState {
  path?: string;
  file_sha?: string | null;
  /** Who pushed the head the proposal was last decided on (a push that kept the proposal file). */
  pushed?: { head: string; login: string } | null;
}

/**
 * The outreach proposal a pull request event is about, or undefined when the
 * pull request is not one the gate opened. The branch name alone proves
 * nothing (anyone can name a branch): the proposal must be stored with this
 * pull request's number.
 */
export async function outreachProposalOf(context: PullContext, deps: GateDeps): Promise<ProposalRow | undefined> {
  const payload = context.payload;
  const installationId = payload.installation?.id;
  const pr = payload.pull_request;
  const id = proposalOfBranch(pr.head.ref);
  if (installationId === undefined || !id) return undefined;
  return deps.db.tenant(installationId, (tx) => findOutreachByPull(tx, id, payload.repository.full_name, pr.number));
}

/**
 * The outreach gate on its pull request: closing it rejects; a head whose
 * proposal file differs from the one published rejects with "content
 * changed"; otherwise approving reviews on the checked head decide, under the
 * rules of every gate.
 */
export async function evaluateOutreachPull(context: PullContext, deps: GateDeps, proposal: ProposalRow): Promise<void> {
  const payload = context.payload;
  const installationId = proposal.installation_id;
  const delivery = deliveryOf(context, deps.appId);
  const sender = payload.sender?.login ?? null;
  const pr = payload.pull_request;

  if (payload.action === "closed") {
    const reason = payload.pull_request.merged
      ? "the pull request was merged without an approval"
      : "the pull request was closed without merging";
    await deps.db.tenant(installationId, async (tx) => {
      await recordDelivery(tx, delivery, deps.now());
      await rejectOutreach(tx, proposal, reason, sender, deps.now());
    });
    return;
  }

  // 1. Gather: is the proposal file on this head the one published? Then the reviews and the config.
  const headSha = pr.head.sha;
  const moved = headSha !== proposal.head_sha;
  const unchanged = !moved || (await fileUnchanged(context, headSha, proposal.state as PublishedState));
  const config = unchanged ? await loadRepoConfig(context) : null;
  const details = proposal.details as { triggered_by?: string | null };
  const pushed = (proposal.state as PublishedState).pushed;
  const pusher =
    payload.action === "synchronize" && payload.sender
      ? payload.sender.login
      : pushed?.head === headSha
        ? pushed.login
        : null;
  const facts: OutreachReviewFacts | null =
    unchanged && config?.ok
      ? {
          author: proposal.author ?? "",
          triggeredBy: details.triggered_by ?? null,
          pusher,
          headSha,
          reviews: await gatherReviews(context, context.repo(), pr.number, (login, type) =>
            neverApproves(login, type, proposal.author ?? ""),
          ),
          expired: deps.now().getTime() >= proposal.expires_at.getTime(),
          deadline: proposal.expires_at.toISOString(),
        }
      : null;

  // The team memberships the rules need, asked now with a token narrowed to members: read (never under the row lock).
  const asked =
    facts && config?.ok && config.config.rules?.length
      ? await outreachMemberships(context, deps, proposal, config.config, facts)
      : undefined;

  // 2. Decide, 3. record (the check-run write is queued with the decision).
  const now = deps.now();
  await deps.db.tenant(installationId, async (tx) => {
    await recordDelivery(tx, delivery, now);
    const current = await findProposal(tx, proposal.id, true);
    if (!current || current.status !== "pending") {
      const changed = unchanged
        ? ""
        : "; the proposal file on the new head differs, but the decision and its receipt stay bound to the digest reviewed";
      if (current) await ignored(tx, current, sender, `already ${current.status}${changed}`, now);
      return;
    }
    if (!unchanged) {
      await appendAudit(
        tx,
        installationId,
        {
          action: "proposal.invalidated",
          outcome: "content_changed",
          actor: sender,
          repo: current.repo,
          subject: current.id,
          data: {
            kind: "outreach",
            digest: current.digest,
            old_head: current.head_sha,
            new_head: headSha,
            pr: pr.number,
          },
        },
        now,
      );
      await rejectOutreach(tx, current, CONTENT_CHANGED, sender, now);
      return;
    }
    if (!config?.ok || !facts) {
      await ignored(tx, current, sender, "configuration error in .github/agent-gate.yml", now);
      return;
    }
    const rules = config.config.rules?.length ? await proposalRuleFacts(tx, current, asked) : undefined;
    const decision = decideOutreachReviews(rules ? { ...facts, rules } : facts, config.config, config.present);
    if (moved) await moveOutreachHead(tx, current.id, headSha);
    // Whose review could satisfy what is unmet while it waits (asked once per head by the recorder).
    const reviewers = reviewersToRequest({
      decision,
      config: config.config,
      owner: context.repo().owner,
      author: proposal.author ?? "",
      pusher,
      triggeredBy: details.triggered_by ?? null,
      ...(rules ? { rules } : {}),
    });
    // The decision is on the checked head (moved above): the reviewer request is recorded for it.
    await storeDecision(
      tx,
      moved ? { ...current, head_sha: headSha } : current,
      decision,
      {
        state: {
          ...current.state,
          decision,
          required: decision.required,
          min_permission: config.config.approvals.minPermission,
          pushed: pusher ? { head: headSha, login: pusher } : null,
        },
        actor: sender,
        actorIsBot: payload.sender?.type === "Bot",
        data: {
          head: headSha,
          facts_digest: factsDigest(rules ? { ...facts, rules } : facts),
          config_digest: config.digest,
        },
        summary: { refused: decision.refused },
        reviewers,
      },
      now,
    );
  });
}

/** Of the reviewers approving the checked head, who belongs to the teams the applying rules name. */
async function outreachMemberships(
  context: PullContext,
  deps: GateDeps,
  proposal: ProposalRow,
  config: GateConfig,
  facts: OutreachReviewFacts,
): Promise<TeamMemberships> {
  const subject = await deps.db.tenant(proposal.installation_id, (tx) => proposalRuleSubject(tx, proposal));
  const approvers = facts.reviews
    .filter((review) => review.state === "APPROVED" && review.commitId?.toLowerCase() === facts.headSha.toLowerCase())
    .map((review) => review.reviewer.login);
  return gatherProposalMemberships(config, subject, approvers, (teams, logins) =>
    teamMemberships(context, teams, logins),
  );
}

/** Whether the proposal file at `sha` is byte for byte the one published (same blob). */
async function fileUnchanged(context: PullContext, sha: string, state: PublishedState): Promise<boolean> {
  if (!state.path || !state.file_sha) return false;
  const reader = await narrowedForEvent(context, ["repos.getContent"]);
  try {
    const { data } = await reader.request("GET /repos/{owner}/{repo}/contents/{path}", {
      ...context.repo(),
      path: state.path,
      ref: sha,
    });
    return !Array.isArray(data) && data.sha === state.file_sha;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

async function ignored(
  tx: Queryable,
  proposal: ProposalRow,
  actor: string | null,
  reason: string,
  now: Date,
): Promise<void> {
  await appendAudit(
    tx,
    proposal.installation_id,
    {
      action: "review.ignored",
      outcome: "ignored",
      actor,
      repo: proposal.repo,
      subject: proposal.id,
      data: { kind: "outreach", digest: proposal.digest, reason },
    },
    now,
  );
}
