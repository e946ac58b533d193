import type { Probot } from "probot";
import { registerDeployGate } from "./github/deploy-gate.ts";
import { registerInstallationEvents } from "./github/installation-events.ts";
import { registerPullRequestGates } from "./github/pull-gates.ts";
import { registerMergeQueue } from "./github/merge-queue.ts";
import type { GateDeps } from "./github/gate-deps.ts";

/**
 * The Probot app: wires the gates' webhook handlers and nothing else.
 * `src/server.ts` gives it its dependencies and serves the HTTP routes.
 */
export function agentGate(deps: GateDeps) {
  return (app: Probot): void => {
    registerPullRequestGates(app, deps);
    registerDeployGate(app, deps);
    registerMergeQueue(app, deps);
    registerInstallationEvents(app, deps);
  };
}

export default agentGate;
