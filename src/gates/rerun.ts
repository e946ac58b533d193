import type { Context, Probot } from "probot";
import { appendAudit } from "../audit/log.ts";
import { COMMIT_CHECK_NAME } from "../policy/check-names.ts";
import { findProposal } from "../proposals/store.ts";
import { pullRequestNow } from "../github/pull-commits.ts";
import { recordDelivery } from "../webhooks/ledger.ts";
import { evaluateHead } from "./commit-gate.ts";
import { ignoredEvent } from "./commit-final.ts";
import { deliveryOf, type GateDeps } from "./gate-deps.ts";
import { headEventOf } from "./pull-event.ts";

/**
 * GitHub's "Re-run" on the app's own `Agent Gate` check run
 * (`check_run.rerequested`): the commit gate evaluates that head again, as
 * if an event had just named it (the config, commits, reviews and rules read
 * anew). A check run of another app, or not of a commit proposal, is not
 * ours to re-run; a head the pull request has moved past changes nothing
 * (audited as `event.ignored`). The app does not subscribe to `check_suite`,
 * so "Re-run all checks" reaches it as this same event for its own run.
 */
export function registerRerun(app: Probot, deps: GateDeps): void {
  app.on("check_run.rerequested", (context) => onRerequested(context, deps));
}

async function onRerequested(context: Context<"check_run.rerequested">, deps: GateDeps): Promise<void> {
  const payload = context.payload;
  const installationId = payload.installation?.id;
  const run = payload.check_run;
  const proposalId = run.external_id ?? "";
  if (
    installationId === undefined ||
    run.app?.id !== deps.appId ||
    !run.name.startsWith(COMMIT_CHECK_NAME) ||
    !proposalId.startsWith("prp_")
  ) {
    return; // another app's check run: not ours to record
  }
  const delivery = deliveryOf(context, deps.appId);
  const proposal = await deps.db.tenant(installationId, (tx) => findProposal(tx, proposalId));
  if (
    !proposal ||
    proposal.repo !== payload.repository.full_name ||
    proposal.kind !== "commit" ||
    !proposal.pr_number ||
    !proposal.head_sha
  ) {
    // Deploys and outreach are decided by votes and reviews as they arrive; there is no head to evaluate again.
    await deps.db.tenant(installationId, (tx) =>
      recordDelivery(tx, delivery, deps.now(), proposal ? "not_rerunnable" : "unknown_proposal"),
    );
    return;
  }
  const pull = await pullRequestNow(context, context.repo(), proposal.pr_number);
  if (pull.head.sha !== proposal.head_sha || pull.head.sha !== run.head_sha) {
    const now = deps.now();
    await deps.db.tenant(installationId, async (tx) => {
      await recordDelivery(tx, delivery, now);
      await appendAudit(
        tx,
        installationId,
        ignoredEvent(delivery, proposal.repo, proposal.id, {
          why: "stale",
          pr: proposal.pr_number!,
          head: run.head_sha,
          current: pull.head.sha,
        }),
        now,
      );
    });
    return;
  }
  // The commit gate, on the pull request as GitHub has it now; the delivery stays this re-run (its id, event and sender).
  await evaluateHead(context, headEventOf({ installationId, repository: payload.repository }, pull), deps);
}
