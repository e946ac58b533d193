import type { Queryable } from "../db/database.ts";
import type { RuleFacts } from "../policy/decide-rules.ts";
import type { ProposalRow } from "../proposals/store.ts";
import { outreachChannel } from "../outreach/store.ts";

/**
 * What rules see of a deploy or outreach proposal: its kind, environment,
 * site and (outreach) channel, all stored with it. Team memberships are not
 * asked for these gates yet, so a team rule that applies to a deploy or an
 * outreach cannot be evaluated and keeps the gate closed.
 */
export async function proposalRuleFacts(tx: Queryable, proposal: ProposalRow): Promise<RuleFacts> {
  const kind = proposal.kind === "outreach" ? "outreach" : proposal.kind === "deploy" ? "deploy" : "commit";
  return {
    subject: {
      kind,
      environment: proposal.environment ?? null,
      site: proposal.site ?? null,
      channel: kind === "outreach" ? await outreachChannel(tx, proposal.id) : null,
    },
  };
}
