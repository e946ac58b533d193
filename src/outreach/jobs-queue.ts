import type { OutboxJob } from "../proposals/store.ts";

/** Queue publishing a new outreach proposal (a pull request, or a check run); the worker reads the repository's mode. */
export function openOutreach(proposal: { id: string; installation_id: number }): OutboxJob {
  return {
    installationId: proposal.installation_id,
    operation: "outreach.open",
    coalesceKey: `outreach:${proposal.id}`,
    priority: 1,
    payload: { proposal_id: proposal.id },
  };
}
