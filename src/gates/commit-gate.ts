import type { Context } from "probot";
import { appendAudits, type AuditInput } from "../audit/log.ts";
import { isAgent } from "../policy/eligibility.ts";
import { decideCommit, factsDigest, type CommitFacts, type Decision } from "../policy/decision.ts";
import { DEFAULT_CONFIG } from "../policy/config.ts";
import { reviewersToRequest } from "../policy/reviewer-requests.ts";
import { recognizeAgent } from "../policy/agent-recognition.ts";
import { newProposalId } from "../proposals/ids.ts";
import { recordDecision } from "../proposals/recorder.ts";
import { recordSuperseded } from "../proposals/recorder-bulk.ts";
import { findCommitProposal, insertProposal, newestCommitHead, type ProposalStatus } from "../proposals/store.ts";
import { claimDelivery } from "../webhooks/ledger.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { gatherCommitFacts, type PullFacts, type PullPayload } from "./commit-facts.ts";
import { finalReason, ignoredEvent } from "./commit-final.ts";
import { awaitedLater } from "../errors.ts";
import { headStanding } from "./pull-head.ts";
import { currentBase } from "../github/pull-base.ts";
import { headCommits } from "./head-commits.ts";
import { loadRepoConfig, type RepoConfig } from "../github/repo-config.ts";
import { gatherReviews } from "../github/reviews.ts";

export { COMMIT_CHECK_NAME } from "../policy/check-names.ts";

type PrContext = Context;

/** The commit gate: an agent's pull request waits for an eligible approving review on its head. */
export async function evaluatePull(context: PrContext, deps: GateDeps): Promise<void> {
  const payload = context.payload as unknown as PullPayload;
  const installationId = payload.installation?.id;
  if (installationId === undefined) {
    context.log.warn("pull request event without an installation; ignored");
    return;
  }
  const pr = payload.pull_request;
  const pull: PullFacts = {
    number: pr.number,
    headSha: pr.head.sha,
    baseRef: pr.base.ref,
    author: { login: pr.user?.login ?? "ghost", type: pr.user?.type ?? "User" },
  };
  const repo = context.repo();

  // 1. Gather
  const fullName = `${repo.owner}/${repo.repo}`;
  // The review list is read beside the config when the last config seen for
  // this repository names the author an agent; the decision uses only the
  // config read now, and reads the list after it when the guess was wrong.
  const early = deps.agentHints?.likelyAgent(installationId, fullName, pull.author)
    ? reviewsOf(context, repo, pull)
    : null;
  if (early) awaitedLater(early);
  const where = { installationId, repo: fullName, prNumber: pull.number };
  // An event older than the newest head known moves nothing (GitHub is asked when in doubt).
  // The known head and the config are read at once; a stale event uses neither. A head's commits
  // are read once (kept with the head; a push reads only the commits it added).
  const before = payload.action === "synchronize" && typeof payload.before === "string" ? payload.before : null;
  const configRead = loadRepoConfig(context);
  awaitedLater(configRead);
  const standing = await headStanding(context, (fn) => deps.db.tenant(installationId, fn), where, pull.headSha, before);
  // A base other than the one this head was decided for (an edit, or an event older than it) is asked of GitHub.
  if (standing.kind !== "stale" && standing.recordedBase !== null && standing.recordedBase !== pull.baseRef) {
    pull.baseRef = await currentBase(context, repo, pull.number);
  }
  const commits =
    standing.kind === "stale"
      ? Promise.resolve([])
      : headCommits(
          context,
          repo,
          { number: pull.number, headSha: pull.headSha, commitCount: pr.commits },
          standing,
          before,
        );
  awaitedLater(commits);
  const config = standing.kind === "stale" ? null : await configRead;
  if (config?.ok) deps.agentHints?.remember(installationId, fullName, config);
  const gathered = config?.ok
    ? await gatherCommitFacts(
        context,
        config,
        pull,
        () => early ?? reviewsOf(context, repo, pull),
        standing.pusher,
        commits,
      )
    : null;

  const now = deps.now();
  const delivery = deliveryOf(context, deps.appId);
  await deps.db.tenant(installationId, async (tx) => {
    // The events are appended together at the end: the chain's head stays locked only briefly.
    const audit: AuditInput[] = [await claimDelivery(tx, delivery, now)];
    let proposal = await findCommitProposal(tx, installationId, fullName, pull.number, pull.headSha);
    // Re-checked under the transaction: a newer head recorded meanwhile also makes this event stale.
    const moved = standing.kind === "confirmed" || standing.kind === "pushed";
    const newest = moved ? pull.headSha : await newestCommitHead(tx, installationId, fullName, pull.number);
    const stale =
      standing.kind === "stale" ? standing.current : newest !== null && newest !== pull.headSha ? newest : null;
    const final = proposal ? finalReason(proposal) : null;
    if (stale !== null || !config || (final && !(final === "superseded" && moved))) {
      const why = stale !== null ? "stale" : (final ?? "stale");
      audit.push(
        ignoredEvent(delivery, fullName, proposal?.id ?? null, {
          why,
          pr: pull.number,
          head: pull.headSha,
          current: stale,
        }),
      );
      await appendAudits(tx, installationId, audit, now);
      return;
    }
    if (final === "superseded") proposal = undefined; // the pull request is back on this head: a new proposal

    // 2. Decide, with the proposal's deadline: a review after it never counts.
    const expiresAt =
      proposal?.expires_at ?? new Date(now.getTime() + (config.ok ? config.config.expiryMs : DEFAULT_CONFIG.expiryMs));
    const facts = gathered
      ? { ...gathered, deadline: expiresAt.toISOString(), expired: now.getTime() >= expiresAt.getTime() }
      : null;
    const decision = config.ok && facts ? decideCommit(facts, config.config, config.present) : null;
    const status: ProposalStatus = !decision ? "rejected" : !decision.agentProposed ? "exempt" : decision.status;
    const state = {
      decision: decision ?? configErrorDecision(config),
      config_errors: config.ok ? [] : config.errors,
      facts: facts ?? null,
      facts_digest: facts ? factsDigest(facts) : null,
      config_digest: config.ok ? config.digest : null,
      config: config.ok ? config.config : null,
      config_present: config.ok ? config.present : true,
      required: config.ok ? config.config.approvals.required : DEFAULT_CONFIG.approvals.required,
      min_permission: config.ok ? config.config.approvals.minPermission : DEFAULT_CONFIG.approvals.minPermission,
      ...(status === "pending" && proposal && (proposal.status !== "pending" || proposal.state.reopened)
        ? { reopened: true }
        : {}),
    };
    const reason = !decision
      ? "configuration error"
      : decision.expired
        ? "expired"
        : status === "rejected"
          ? "changes requested"
          : null;
    const approvers = decision?.approvers ?? [];
    // Whose review could satisfy what is unmet, while the head waits (requested once per head by the recorder).
    const reviewers =
      decision && facts && status === "pending" && config.ok
        ? reviewersToRequest({
            decision,
            config: config.config,
            owner: repo.owner,
            author: pull.author.login,
            pusher: facts.pusher?.login ?? null,
            directors: recognizeAgent(facts, config.config, config.present).directors,
            ...(facts.rules ? { rules: facts.rules } : {}),
          })
        : undefined;

    // 3. Record (the GitHub write is queued in the same transaction and published by the outbox)
    await recordSuperseded(
      tx,
      { installationId, repo: fullName, prNumber: pull.number, headSha: pull.headSha },
      delivery.sender?.login ?? null,
      now,
      { events: audit },
    );
    const decided = status !== "pending";
    const inserted = !proposal;
    if (!proposal) {
      proposal = await insertProposal(tx, {
        id: newProposalId(),
        installationId,
        repo: fullName,
        repoId: payload.repository.id,
        kind: "commit",
        status,
        digest: pull.headSha,
        headSha: pull.headSha,
        prNumber: pull.number,
        author: pull.author.login,
        summary: `Pull request #${pull.number} at ${pull.headSha.slice(0, 7)}`,
        details: { pr_title_length: pr.title.length, author_type: pull.author.type, base: pull.baseRef },
        state,
        approvers,
        reason,
        decidedAt: decided ? now : null,
        expiresAt,
        now,
      });
      audit.push({
        action: "proposal.created",
        outcome: status,
        actor: pull.author.login,
        actorIsBot: pull.author.type === "Bot",
        actorIsAgent: decision?.agentProposed ?? false,
        repo: fullName,
        subject: proposal.id,
        data: { kind: "commit", digest: pull.headSha, pr: pull.number },
      });
    }
    await recordDecision(
      tx,
      proposal,
      {
        type: "evaluated",
        status,
        state,
        approvers,
        reason,
        actor: delivery.sender?.login ?? null,
        actorIsBot: delivery.sender?.type === "Bot",
        actorIsAgent:
          config.ok && delivery.sender
            ? isAgent(delivery.sender.login, delivery.sender.type, config.config, config.present)
            : false,
        inserted,
        ...(reviewers ? { reviewers } : {}),
      },
      now,
      { events: audit },
    );
    await appendAudits(tx, installationId, audit, now);
  });
  deps.queued?.();
}

/** The pull request's reviews; the author of an approval or change request an event reports is asked about at once. */
function reviewsOf(
  context: PrContext,
  repo: { owner: string; repo: string },
  pull: PullFacts,
): Promise<CommitFacts["reviews"]> {
  const payload = context.payload as { review?: { state?: string; user?: { login?: string; type?: string } | null } };
  const review = payload.review;
  const voted = review?.user?.login && review.state !== "commented";
  const reviewer = voted ? { login: review.user!.login!, type: review.user!.type ?? "User" } : null;
  return gatherReviews(context, repo, pull.number, pull.author.login, { expectedReviewer: reviewer });
}

function configErrorDecision(config: RepoConfig): Decision {
  const errors = config.ok ? [] : config.errors;
  return {
    status: "rejected",
    required: 0,
    approvers: [],
    rejectedBy: [],
    refused: [],
    reasons: errors.map((error) => `${error.path}: ${error.message}`),
    title: "Configuration error in .github/agent-gate.yml",
  };
}
