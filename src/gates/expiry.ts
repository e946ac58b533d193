import type { Database } from "../db/database.ts";
import { recordDecision } from "../proposals/recorder.ts";
import { ProposalStateError } from "../proposals/state.ts";
import { findProposal } from "../proposals/store.ts";

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
  const due = await db.transaction((tx) =>
    tx.query<{ proposal_id: string; installation_id: number }>(
      `UPDATE proposal_deadlines SET claimed_until = $2
        WHERE proposal_id IN (
          SELECT proposal_id FROM proposal_deadlines
           WHERE expires_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
           ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING proposal_id, installation_id`,
      [now, new Date(now.getTime() + CLAIM_MS), limit],
    ),
  );
  let expired = 0;
  const unreadable: ProposalStateError[] = [];
  for (const { proposal_id: id, installation_id: installationId } of due) {
    const changed = await db.tenant(installationId, async (tx) => {
      const proposal = await findProposal(tx, id, true);
      await tx.query("DELETE FROM proposal_deadlines WHERE proposal_id = $1", [id]);
      if (!proposal || proposal.status !== "pending" || proposal.expires_at.getTime() > now.getTime()) return false;
      await recordDecision(tx, proposal, { type: "expired" }, now);
      return true;
    }).catch((error: unknown) => {
      if (!(error instanceof ProposalStateError)) throw error;
      unreadable.push(error);
      return false;
    });
    if (changed) expired += 1;
  }
  if (unreadable.length > 0) throw unreadable[0];
  return expired;
}
