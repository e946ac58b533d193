import type { Probot } from "probot";
import { registerDeployGate } from "./gates/deploy-gate.ts";
import { registerInstallationEvents } from "./gates/installation-events.ts";
import { registerPullRequestGates } from "./gates/pull-gates.ts";
import { registerMergeQueue } from "./gates/merge-queue.ts";
import { registerRerun } from "./gates/rerun.ts";
import type { GateDeps } from "./gates/gate-deps.ts";

/**
 * The Probot app: wires the gates' webhook handlers and nothing else.
 * `src/server.ts` gives it its dependencies and serves the HTTP routes.
 */
export function agentGate(deps: GateDeps) {
  return (app: Probot): void => {
    registerPullRequestGates(app, deps);
    registerDeployGate(app, deps);
    registerMergeQueue(app, deps);
    registerRerun(app, deps);
    registerInstallationEvents(app, deps);
  };
}

export default agentGate;
