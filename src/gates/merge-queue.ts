import type { Context, Probot } from "probot";
import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { appendAudit } from "../audit/log.ts";
import { decideMergeGroup, queuedPullOf, type QueuedPullState } from "../policy/merge-group.ts";
import { enqueue, findCommitProposal } from "../proposals/store.ts";
import { recordDelivery } from "../webhooks/ledger.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { reportMergeGroup } from "../outbox/merge-group-job.ts";

type ChecksRequested = EmitterWebhookEvent<"merge_group.checks_requested">["payload"];

/**
 * The merge queue: GitHub waits for every required check on the head of each
 * merge group it builds, so `Agent Gate` is reported there too. The group's
 * branch (`gh-readonly-queue/<base>/pr-<number>-<sha>`) names the pull
 * request it adds and the head that entered the queue; the group passes when
 * the proposal stored for that pull request at that head was approved (under
 * its rules) or exempt. The pull requests ahead of it in the queue each have
 * their own group, checked the same way.
 */
export function registerMergeQueue(app: Probot, deps: GateDeps): void {
  app.on("merge_group.checks_requested", (context) => onChecksRequested(context as unknown as Context, deps));
}

async function onChecksRequested(context: Context, deps: GateDeps): Promise<void> {
  const payload = context.payload as unknown as ChecksRequested;
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
  const queued = queuedPullOf(group.head_ref);
  await deps.db.tenant(installationId, async (tx) => {
    await recordDelivery(tx, delivery, now);
    const pulls: QueuedPullState[] = [];
    if (queued) {
      const proposal = await findCommitProposal(tx, installationId, repo, queued.number, queued.headSha);
      const title = (proposal?.state as { decision?: { title?: string } } | undefined)?.decision?.title ?? null;
      pulls.push({ number: queued.number, headSha: queued.headSha, status: proposal?.status ?? null, title });
    }
    const decision = decideMergeGroup(pulls);
    await appendAudit(tx, installationId, {
      action: "merge_group.decided",
      outcome: decision.conclusion,
      actor: payload.sender?.login ?? null,
      repo,
      subject: `merge_group:${group.head_sha}`,
      data: { head_sha: group.head_sha, head_ref: group.head_ref, base_ref: group.base_ref, pulls: pulls.map(({ number, headSha, status }) => ({ number, head_sha: headSha, status })) },
    }, now);
    await enqueue(tx, reportMergeGroup(installationId, { repo, repo_id: repository.id, head_sha: group.head_sha, decision }));
  });
  deps.committed?.note(delivery.id);
  deps.queued?.();
}
