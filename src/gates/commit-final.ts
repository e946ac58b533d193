import type { AuditInput } from "../audit/log.ts";
import type { ProposalRow } from "../proposals/store.ts";
import type { Delivery } from "../webhooks/ledger.ts";

/** Why a commit proposal can no longer change: superseded by a newer head, or expired. Null while it can. */
export function finalReason(proposal: Pick<ProposalRow, "status" | "reason">): "superseded" | "expired" | null {
  if (proposal.status === "superseded") return "superseded";
  if (proposal.status === "expired" || proposal.reason === "expired") return "expired";
  return null;
}

const WHY = {
  stale: "the event names an older head than the pull request's current one; it changes nothing",
  superseded: "the proposal of this head was superseded by a newer head; it changes nothing",
  expired: "the proposal expired; expiry is final and a later review changes nothing",
} as const;

/** The audit event of a pull request event that changed nothing, saying why. */
export function ignoredEvent(
  delivery: Delivery,
  repo: string,
  subject: string | null,
  facts: { why: keyof typeof WHY; pr: number; head: string; current: string | null },
): AuditInput {
  return {
    action: "event.ignored",
    outcome: facts.why,
    actor: delivery.sender?.login ?? null,
    actorIsBot: delivery.sender?.type === "Bot",
    repo,
    subject,
    data: {
      kind: "commit",
      event: delivery.event,
      action: delivery.action,
      pr: facts.pr,
      head: facts.head,
      current_head: facts.current,
      reason: WHY[facts.why],
    },
  };
}
