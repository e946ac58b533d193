import { showInvisibleLine } from "../outreach/render.ts";
import { proposerLabel } from "../proposals/proposer.ts";
import type { ProposalRow } from "../proposals/store.ts";

/** What happened to a proposal that a message tells. */
export const NOTIFY_EVENTS = [
  "pending",
  "decided",
  "expired",
  "superseded",
  "escalated",
  "reminder",
  "expiring",
  "test",
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * A proposal as every channel shows it: built from structured fields only.
 * No summary an agent wrote, no outreach text or recipients, no secret.
 */
export interface ProposalMessage {
  event: NotifyEvent;
  id: string;
  kind: ProposalRow["kind"];
  repo: string;
  /** "Deploy 1a2b3c4 to production", "Commit 1a2b3c4 on pull request #12", "Outreach for example.com". */
  headline: string;
  /** Who proposed it: an agent's login or its token's name. */
  proposer: string;
  environment: string | null;
  site: string | null;
  digest: string;
  status: ProposalRow["status"];
  required: number;
  approvals: number;
  /** Whether Approve and Reject may be answered here (deploys, outreach as a check run, while pending). */
  votable: boolean;
  /** Who decided and where ("alice via slack"), once decided. */
  decidedBy: { login: string; via: string }[];
  reason: string | null;
  reviewUrl: string;
  expiresAt: string;
}

const VOTED = (p: ProposalRow) => p.kind === "deploy" || (p.kind === "outreach" && p.state.mode === "check_run");

function headlineOf(p: ProposalRow): string {
  const sha = p.head_sha ? p.head_sha.slice(0, 7) : "";
  switch (p.kind) {
    case "deploy":
      return `Deploy ${sha} to ${showInvisibleLine(p.environment ?? "")}`;
    case "commit":
      return `Commit ${sha}${p.pr_number ? ` on pull request #${p.pr_number}` : ""}`;
    case "outreach":
      return `Outreach for ${p.site ?? "a site"}`;
  }
}

export function reviewUrlOf(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/proposals/${encodeURIComponent(id)}`;
}

export function proposalMessage(p: ProposalRow, event: NotifyEvent, publicUrl: string): ProposalMessage {
  const decision = p.state.decision ?? {};
  const votes = "votes" in p.state && Array.isArray(p.state.votes) ? p.state.votes : [];
  const required = p.state.required ?? decision.required ?? 1;
  const approvers = p.status === "pending" ? (decision.approvers ?? []) : p.approvers;
  const deciders = p.status === "approved" ? approvers : (decision.rejectedBy ?? []);
  const viaOf = (login: string) =>
    [...votes].reverse().find((v) => v.actor.login.toLowerCase() === login.toLowerCase())?.via ?? "github";
  return {
    event,
    id: p.id,
    kind: p.kind,
    repo: p.repo,
    headline: headlineOf(p),
    proposer: proposerLabel(p.author, p.details).text,
    environment: p.environment === null ? null : showInvisibleLine(p.environment),
    site: p.site,
    digest: p.digest,
    status: p.status,
    required,
    approvals: approvers.length,
    votable: VOTED(p) && p.status === "pending",
    decidedBy: p.status === "pending" ? [] : deciders.map((login) => ({ login, via: viaOf(login) })),
    reason: p.status === "pending" ? null : p.reason,
    reviewUrl: reviewUrlOf(publicUrl, p.id),
    expiresAt: p.expires_at.toISOString(),
  };
}

/** One line of status: what the message says now. */
export function statusLine(m: ProposalMessage): string {
  const who = m.decidedBy.map((d) => `${d.login} via ${d.via.replace("_", " ")}`).join(", ");
  switch (m.status) {
    case "pending": {
      const left = Math.max(0, m.required - m.approvals);
      const lead =
        m.event === "escalated"
          ? "Still undecided (escalated): "
          : m.event === "expiring"
            ? `Expires ${m.expiresAt}: `
            : m.event === "reminder"
              ? "Reminder: "
              : "";
      return `${lead}waiting for approval — ${left} more approval${left === 1 ? "" : "s"} needed (${m.approvals}/${m.required})`;
    }
    case "approved":
      return `Approved${who ? ` by ${who}` : ""}`;
    case "rejected":
      return m.reason === "expired"
        ? "Expired without a decision (a timeout never approves)"
        : `Rejected${who ? ` by ${who}` : m.reason ? `: ${m.reason}` : ""}`;
    case "superseded":
      return "Superseded: a new commit was pushed";
    default:
      return m.status;
  }
}

/** The webhook event type for a message. */
export function webhookType(
  m: ProposalMessage,
): "proposal.pending" | "proposal.decided" | "proposal.expired" | "proposal.escalated" {
  if (m.event === "escalated") return "proposal.escalated";
  if (m.status === "pending") return "proposal.pending";
  if (m.status === "rejected" && m.reason === "expired") return "proposal.expired";
  return "proposal.decided";
}
