import type { Queryable } from "../db/database.ts";
import type { RuleFacts } from "../policy/decide-rules.ts";
import type { GateConfig } from "../policy/config.ts";
import { teamsToAsk, type RuleSubject } from "../policy/rules.ts";
import type { ProposalRow } from "../proposals/store.ts";
import { outreachChannel } from "../outreach/store.ts";
import type { TeamMemberships } from "../github/team-membership.ts";

/** What rules see of a deploy or outreach proposal: its kind, environment, site and (outreach) channel, all stored with it. */
export async function proposalRuleSubject(tx: Queryable, proposal: ProposalRow): Promise<RuleSubject> {
  const kind = proposal.kind === "outreach" ? "outreach" : proposal.kind === "deploy" ? "deploy" : "commit";
  return {
    kind,
    environment: proposal.environment ?? null,
    site: proposal.site ?? null,
    channel: kind === "outreach" ? await outreachChannel(tx, proposal.id) : null,
  };
}

/**
 * Asks GitHub, before the decision's transaction, whether each approver
 * belongs to the teams the applying rules name. `ask` holds the narrowed
 * token (members: read); nothing is asked when no applying rule names a team
 * or nobody approves. A login not asked about (a vote that arrived meanwhile)
 * is unknown to the decision, so a team rule it would satisfy stays closed.
 */
export async function gatherProposalMemberships(
  config: GateConfig,
  subject: RuleSubject,
  approvers: readonly string[],
  ask: (teams: readonly string[], logins: readonly string[]) => Promise<TeamMemberships>,
): Promise<TeamMemberships> {
  const teams = teamsToAsk(config.rules ?? [], subject);
  const logins = [...new Map(approvers.map((login) => [login.toLowerCase(), login])).values()].sort();
  if (teams.length === 0 || logins.length === 0) return { memberships: [], teamErrors: [] };
  return ask(teams, logins);
}

/**
 * The rule facts of a deploy or outreach proposal, read under its lock: the
 * subject as stored, with the memberships gathered before the transaction.
 * Without them, a team rule that applies cannot be evaluated and keeps the
 * gate closed.
 */
export async function proposalRuleFacts(
  tx: Queryable,
  proposal: ProposalRow,
  asked?: TeamMemberships,
): Promise<RuleFacts> {
  return {
    subject: await proposalRuleSubject(tx, proposal),
    ...(asked?.memberships.length ? { memberships: asked.memberships } : {}),
    ...(asked?.teamErrors.length ? { teamErrors: asked.teamErrors } : {}),
  };
}
