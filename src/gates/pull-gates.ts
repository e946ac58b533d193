import type { Probot } from "probot";
import { evaluatePull } from "./commit-gate.ts";
import type { GateDeps } from "./gate-deps.ts";
import { evaluateOutreachPull, outreachProposalOf } from "./outreach-gate.ts";
import { PULL_EVENTS } from "./pull-event.ts";

/**
 * Pull request events go to the outreach gate when the pull request is one
 * the gate opened for an outreach proposal, and to the commit gate otherwise.
 * Closing a pull request matters only to the outreach gate; a change of base
 * only to the commit gate.
 */
export function registerPullRequestGates(app: Probot, deps: GateDeps): void {
  app.on([...PULL_EVENTS], async (context) => {
    const outreach = await outreachProposalOf(context, deps);
    if (outreach) await evaluateOutreachPull(context, deps, outreach);
    else await evaluatePull(context, deps);
  });
  // A new base changes what rules read (their `branches`, CODEOWNERS at the base): the head is decided again
  // for it. No rule reads labels, a title or a body, so other edits change nothing. An outreach pull
  // request's approval is bound to its content, not its base.
  app.on("pull_request.edited", async (context) => {
    if (!context.payload.changes.base) return;
    if (await outreachProposalOf(context, deps)) return;
    await evaluatePull(context, deps);
  });
  app.on("pull_request.closed", async (context) => {
    const outreach = await outreachProposalOf(context, deps);
    if (outreach) await evaluateOutreachPull(context, deps, outreach);
  });
}
