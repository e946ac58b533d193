import type { Queryable } from "../db/database.ts";
import type { Decision, Vote } from "../policy/decision.ts";
import { recordDecision } from "./recorder.ts";
import type { TallyChange } from "./changes.ts";
import type { ProposalRow } from "./store.ts";

/** What is stored with a decision beyond the decision itself. */
export type DecisionRecord = Omit<TallyChange, "type" | "decision">;

/**
 * Store a decision: the proposal's status and state, the `decision.recorded`
 * audit event, and the GitHub writes it needs, queued in the same
 * transaction (src/proposals/recorder.ts); a decided deployment's callback
 * goes ahead of the check-run text.
 */
export async function storeDecision(
  tx: Queryable,
  proposal: ProposalRow,
  decision: Decision,
  record: DecisionRecord,
  now: Date,
): Promise<void> {
  await recordDecision(tx, proposal, { type: "tally", decision, ...record }, now);
}

/** Store a tally of votes (buttons, the review page): the decision with the votes it counted. */
export async function applyDecision(
  tx: Queryable,
  proposal: ProposalRow,
  decision: Decision,
  votes: Vote[],
  now: Date,
): Promise<void> {
  await storeDecision(
    tx,
    proposal,
    decision,
    {
      state: { ...proposal.state, votes, decision, required: decision.required },
      summary: { rejected_by: decision.rejectedBy },
    },
    now,
  );
}
