import { appendAudit } from "../audit/log.ts";
import type { Database } from "../db/database.ts";
import type { Permission, RepoConfig } from "../policy/config.ts";
import { decideVotes, type Vote } from "../policy/decision.ts";
import { isAgent } from "../policy/eligibility.ts";
import { findProposal, type ProposalRow, type ProposalStatus } from "../proposals/store.ts";
import { applyDecision } from "../proposals/apply-decision.ts";
import { gatherProposalMemberships, proposalRuleFacts, proposalRuleSubject } from "./proposal-rule-facts.ts";
import type { TeamMemberships } from "../github/team-membership.ts";
import { recordDelivery, type Delivery } from "../webhooks/ledger.ts";

/** Where a vote was cast: a check run's button, the review page or a Slack message's button. */
export type VoteChannel = "check_run" | "review_page" | "slack";

/** The facts a vote needs from GitHub, asked at decision time. */
export interface VoteSources {
  /** The repository's `.github/agent-gate.yml`. */
  config(): Promise<RepoConfig>;
  /** The voter's permission on the repository. */
  permission(login: string): Promise<Permission>;
  /** Whether each login is an active member of each team (org/slug), asked with a token narrowed to members: read. */
  memberships(teams: readonly string[], logins: readonly string[]): Promise<TeamMemberships>;
}

export interface VoteRequest {
  installationId: number;
  proposalId: string;
  voter: { login: string; type: string };
  /** "approve" or "reject"; anything else is recorded and ignored. */
  identifier: string | undefined;
  via: VoteChannel;
  /** The webhook delivery carrying the vote, recorded in the vote's transaction. */
  delivery?: Delivery;
  /** The digest the voter was shown (review page); another digest refuses the vote. */
  digest?: string;
}

export interface VoteOutcome {
  /** counted: it changed the tally; refused: the voter is not eligible; ignored: nothing changed. */
  outcome: "counted" | "refused" | "ignored";
  /** The proposal's status afterwards; null when there is no such proposal. */
  status: ProposalStatus | null;
  reason: string | null;
}

/**
 * Proposals decided by Approve / Reject votes: deploys, and outreach published
 * as a check run. Commits and outreach pull requests are decided by reviews.
 */
export function decidedByVotes(proposal: Pick<ProposalRow, "kind" | "state">): boolean {
  return proposal.kind === "deploy" || (proposal.kind === "outreach" && proposal.state.mode === "check_run");
}

/**
 * The one path for an Approve or Reject vote, from a check-run button or the
 * review page: the config and the voter's permission are asked of GitHub now;
 * then, under the proposal's row lock, the vote is recorded (or ignored, with
 * why), tallied with the earlier ones, audited with the voter's identity, and
 * any decision is stored with its GitHub writes queued. Any error throws: no
 * approval comes from a failure.
 */
export async function castVote(
  deps: { db: Database; now: () => Date },
  sources: VoteSources,
  request: VoteRequest,
): Promise<VoteOutcome> {
  const now = deps.now();
  const { voter, installationId, identifier, via } = request;
  const config = await sources.config();
  const permission: Permission = voter.type === "Bot" ? "none" : await sources.permission(voter.login);
  const asked =
    config.ok && config.config.rules?.length ? await membershipsFor(deps.db, sources, request, config) : undefined;

  return deps.db.tenant(installationId, async (tx) => {
    if (request.delivery) await recordDelivery(tx, request.delivery, now);
    const current = await findProposal(tx, request.proposalId, true);
    if (!current) return { outcome: "ignored", status: null, reason: "no such proposal" };
    const vote: Vote | null =
      identifier === "approve" || identifier === "reject"
        ? { actor: { login: voter.login, type: voter.type, permission }, vote: identifier, at: now.toISOString(), via }
        : null;
    const why = ignoredBecause(current, vote, config, request.digest, now);
    if (why || !vote || !config.ok) {
      const reason = why ?? "unknown action";
      await appendAudit(
        tx,
        installationId,
        {
          action: "vote.ignored",
          outcome: "ignored",
          actor: voter.login,
          actorIsBot: voter.type === "Bot",
          repo: current.repo,
          subject: current.id,
          data: { identifier: identifier ?? null, reason, via },
        },
        now,
      );
      return { outcome: "ignored", status: current.status, reason };
    }
    const votes = [...((current.state.votes as Vote[] | undefined) ?? []), vote];
    const details = current.details as { triggered_by?: string | null };
    const decision = decideVotes(
      votes,
      {
        author: current.author ?? "",
        triggeredBy: details.triggered_by ?? null,
        config: config.config,
        configPresent: config.present,
        deadline: current.expires_at.toISOString(),
      },
      config.config.rules?.length ? await proposalRuleFacts(tx, current, asked) : undefined,
    );
    const refused = decision.refused.find((r) => r.login.toLowerCase() === voter.login.toLowerCase());
    await appendAudit(
      tx,
      installationId,
      {
        action: "vote.recorded",
        outcome: refused ? "refused" : "counted",
        actor: voter.login,
        actorIsBot: voter.type === "Bot",
        actorIsAgent: isAgent(voter.login, voter.type, config.config, config.present),
        repo: current.repo,
        subject: current.id,
        data: { vote: vote.vote, permission, reason: refused?.reason ?? null, via },
      },
      now,
    );
    await applyDecision(tx, current, decision, votes, now);
    return { outcome: refused ? "refused" : "counted", status: decision.status, reason: refused?.reason ?? null };
  });
}

/**
 * The team memberships the repository's rules need for this vote, asked of
 * GitHub before the vote's transaction (no network call holds the row lock):
 * of everyone whose latest vote approves, the voter included.
 */
async function membershipsFor(
  db: Database,
  sources: VoteSources,
  request: VoteRequest,
  config: Extract<RepoConfig, { ok: true }>,
): Promise<TeamMemberships | undefined> {
  const seen = await db.tenant(request.installationId, async (tx) => {
    const proposal = await findProposal(tx, request.proposalId);
    return proposal
      ? { subject: await proposalRuleSubject(tx, proposal), votes: (proposal.state.votes as Vote[] | undefined) ?? [] }
      : undefined;
  });
  if (!seen) return undefined;
  const latest = new Map<string, { login: string; approves: boolean }>();
  for (const vote of seen.votes)
    latest.set(vote.actor.login.toLowerCase(), { login: vote.actor.login, approves: vote.vote === "approve" });
  latest.set(request.voter.login.toLowerCase(), {
    login: request.voter.login,
    approves: request.identifier === "approve",
  });
  const approvers = [...latest.values()].filter((entry) => entry.approves).map((entry) => entry.login);
  return gatherProposalMemberships(config.config, seen.subject, approvers, (teams, logins) =>
    sources.memberships(teams, logins),
  );
}

function ignoredBecause(
  current: ProposalRow,
  vote: Vote | null,
  config: RepoConfig,
  digest: string | undefined,
  now: Date,
): string | null {
  if (!vote) return "unknown action";
  if (current.status !== "pending") return `already ${current.status}`;
  if (!decidedByVotes(current)) return "decided by a pull request review";
  if (current.expires_at.getTime() <= now.getTime()) return "expired";
  if (digest !== undefined && digest !== current.digest) return "the digest shown is not the proposal's digest";
  if (!config.ok) return "configuration error";
  return null;
}
