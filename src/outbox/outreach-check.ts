import type { ProposalOf } from "../proposals/store.ts";
import { escapeMarkdown } from "./render-check.ts";
import { rulesTable } from "./render-rules.ts";
import { renderOutreachBody, type OutreachView } from "../outreach/render.ts";

export const OUTREACH_CHECK_NAME = "Agent Gate: outreach";

/** Buttons show only on a completed run; label <= 20, description <= 40, identifier <= 20 characters. */
export const OUTREACH_ACTIONS = [
  { label: "Approve", description: "Approve sending exactly this text", identifier: "approve" },
  { label: "Reject", description: "Reject this outreach", identifier: "reject" },
];

/** Check runs hold 65,535 characters per field; the body shown is cut well below that. */
const MAX_SHOWN_BODY = 50_000;

/**
 * An outreach proposal's check run. `view` (the opened content) is given when
 * the run is created: the text then goes into the run's `text`. Later updates
 * carry the decision only and leave that text as it was. `shown` replaces the
 * text (the redacted lines of a public repository). A proposal published as a
 * pull request is decided by reviews, so its run offers no buttons.
 */
export function renderOutreachCheck(
  proposal: ProposalOf<"outreach">,
  publicUrl: string,
  view?: OutreachView,
  shown?: string[],
) {
  const state = proposal.state;
  const byReview = state.mode === "pull_request";
  const required = state.required ?? 1;
  const approvers = proposal.approvers ?? [];
  const url = `${publicUrl.replace(/\/$/, "")}/proposals/${proposal.id}`;
  const title =
    state.decision?.title ??
    (proposal.status === "pending" ? `Waiting for approval (${approvers.length}/${required})` : proposal.status);
  const lines = [
    `**Outreach proposal** \`${proposal.id}\` · **Digest:** \`${proposal.digest}\` (the approval and the receipt are bound to it)`,
    `**Who may approve:** ${required} distinct user${required === 1 ? "" : "s"} with at least \`${state.min_permission ?? "write"}\` permission, other than the proposer, a configured agent or a bot. ${
      byReview
        ? "Read the proposal file in this pull request, then approve it with a review of this commit, or request changes or close it to reject. A push that changes the file rejects the proposal."
        : "Use the Approve or Reject button above after reading the text below."
    }`,
    `**Approvals:** ${approvers.length}/${required}`,
  ];
  for (const refusal of state.decision?.refused ?? [])
    lines.push(
      `- not counted: ${refusal.login.replace(/[^A-Za-z0-9_.[\]-]/g, "")}: ${refusal.reason.replace(/[<>`*_[\]()\\]/g, "")}`,
    );
  if (proposal.status !== "pending" && proposal.reason)
    lines.push("", `**Reason:** ${proposal.reason.replace(/[<>`*_[\]()\\]/g, "")}`);
  lines.push(...rulesTable(state.decision?.rules, escapeMarkdown));
  lines.push("", `[review page](${url})`);
  const base = {
    name: OUTREACH_CHECK_NAME,
    head_sha: proposal.head_sha ?? "",
    external_id: proposal.id,
    details_url: url,
    output: {
      title,
      summary: lines.join("\n"),
      ...(view ? { text: (shown ?? renderOutreachBody(view, MAX_SHOWN_BODY)).join("\n") } : {}),
    },
  };
  if (proposal.status === "pending") {
    return {
      ...base,
      status: "completed" as const,
      conclusion: "action_required" as const,
      actions: byReview ? [] : OUTREACH_ACTIONS,
    };
  }
  return {
    ...base,
    status: "completed" as const,
    conclusion: proposal.status === "approved" ? ("success" as const) : ("failure" as const),
    actions: [],
  };
}
