import type { Database } from "../db/database.ts";
import { recordDecision } from "../proposals/recorder.ts";
import { ProposalStateError } from "../proposals/state.ts";
import { claimDueDeadlines, dropDeadline, findProposal } from "../proposals/store.ts";

const CLAIM_MS = 60_000;

/**
 * Reject every pending proposal past its expiry with reason "expired". Safe
 * with several processes: due deadlines are claimed with FOR UPDATE SKIP
 * LOCKED, and each proposal is re-read under lock before it changes. A
 * proposal whose stored state is unreadable stays as it is (neither decided
 * nor approvable) and does not hold up the others: the sweep expires the rest,
 * then throws its ProposalStateError for the caller to log.
 */
export async function expireDue(db: Database, now: Date, limit = 100): Promise<number> {
  const due = await db.transaction((tx) => claimDueDeadlines(tx, now, CLAIM_MS, limit));
  let expired = 0;
  const unreadable: ProposalStateError[] = [];
  for (const { proposal_id: id, installation_id: installationId } of due) {
    const changed = await db
      .tenant(installationId, async (tx) => {
        const proposal = await findProposal(tx, id, true);
        await dropDeadline(tx, id);
        if (!proposal || proposal.status !== "pending" || proposal.expires_at.getTime() > now.getTime()) return false;
        await recordDecision(tx, proposal, { type: "expired" }, now);
        return true;
      })
      .catch((error: unknown) => {
        if (!(error instanceof ProposalStateError)) throw error;
        unreadable.push(error);
        return false;
      });
    if (changed) expired += 1;
  }
  if (unreadable.length > 0) throw unreadable[0];
  return expired;
}
