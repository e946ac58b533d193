import type { Context, Probot } from "probot";
import { appendAudit } from "../audit/log.ts";
import { decideMergeGroup, type QueuedPullState } from "../policy/merge-group.ts";
import { findCommitProposal, type ProposalOf } from "../proposals/store.ts";
import { recordDelivery } from "../webhooks/ledger.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { enqueue, reportMergeGroup } from "../outbox/queue.ts";
import { pullsOfMergeGroup } from "../github/merge-group-pulls.ts";

/**
 * The merge queue: GitHub waits for every required check on the head of each
 * merge group it builds, so `Agent Gate` is reported there too. The group's
 * pull requests are found first (the one its branch names, at the head that
 * entered the queue, and those queued before it in the same group:
 * merge-group-pulls.ts); the group passes when the proposal stored for each
 * of them at its head was approved (under its rules) or exempt.
 */
export function registerMergeQueue(app: Probot, deps: GateDeps): void {
  app.on("merge_group.checks_requested", (context) => onChecksRequested(context, deps));
}

async function onChecksRequested(context: Context<"merge_group.checks_requested">, deps: GateDeps): Promise<void> {
  const payload = context.payload;
  const installationId = payload.installation?.id;
  const delivery = deliveryOf(context, deps.appId);
  const now = deps.now();
  const repository = payload.repository;
  if (installationId === undefined || !repository) {
    context.log.warn("merge_group event without an installation or repository; ignored");
    return;
  }
  const repo = repository.full_name;
  const group = payload.merge_group;
  // 1. Gather: the group's pull requests, asked of GitHub before the transaction.
  const found = await pullsOfMergeGroup(context, group);
  await deps.db.tenant(installationId, async (tx) => {
    await recordDelivery(tx, delivery, now);
    const pulls: (QueuedPullState & { foundBy: string })[] = [];
    for (const pull of found.pulls) {
      const proposal = await findCommitProposal(tx, installationId, repo, pull.number, pull.headSha);
      const title = proposal?.state.decision?.title ?? null;
      pulls.push({
        ...pull,
        status: proposal?.status ?? null,
        title,
        decidedBase: proposal ? decidedBase(proposal) : null,
      });
    }
    // 2. Decide, 3. record (the check-run write is queued with the decision).
    const decision = decideMergeGroup(pulls, found.problem, group.base_ref);
    await appendAudit(
      tx,
      installationId,
      {
        action: "merge_group.decided",
        outcome: decision.conclusion,
        actor: payload.sender?.login ?? null,
        repo,
        subject: `merge_group:${group.head_sha}`,
        data: {
          head_sha: group.head_sha,
          head_ref: group.head_ref,
          base_sha: group.base_sha,
          base_ref: group.base_ref,
          pulls: pulls.map(({ number, headSha, status, foundBy, decidedBase: base }) => ({
            number,
            head_sha: headSha,
            status,
            found_by: foundBy,
            decided_base: base,
          })),
          problem: found.problem,
        },
      },
      now,
    );
    await enqueue(
      tx,
      reportMergeGroup(installationId, { repo, repo_id: repository.id, head_sha: group.head_sha, decision }),
    );
  });
  deps.queued?.();
}

/**
 * The base a commit proposal was decided for: its facts' base, or, for a
 * decision recorded before facts held it, the base its pull request had when
 * the proposal was created.
 */
function decidedBase(proposal: ProposalOf<"commit">): string | null {
  const fromFacts = proposal.state.facts?.base;
  if (typeof fromFacts === "string") return fromFacts;
  const fromDetails = (proposal.details as { base?: unknown }).base;
  return typeof fromDetails === "string" ? fromDetails : null;
}
