import type { StoredDecision } from "../proposals/state.ts";
import type { ProposalOf, ProposalRow } from "../proposals/store.ts";
import { COMMIT_CHECK_NAME } from "../policy/check-names.ts";
import { renderOutreachCheck } from "./outreach-check.ts";
import { proposerLabel } from "../proposals/proposer.ts";
import { showInvisibleLine } from "../outreach/render.ts";
import { hiddenCharacterProblem } from "../policy/reviewer-text.ts";
import { rulesTable } from "./render-rules.ts";

export interface CheckRunState {
  name: string;
  head_sha: string;
  external_id: string;
  details_url: string;
  status: "in_progress" | "completed";
  /** Never `neutral` or `skipped`: GitHub's required checks pass on those as on `success`. */
  conclusion?: "success" | "failure" | "action_required" | "cancelled";
  output: { title: string; summary: string };
  actions?: { label: string; description: string; identifier: string }[];
}

/**
 * Escape text for GitHub markdown so nothing in it renders as markup. Inserted
 * text always follows a prefix on its line, so line-start markers (# - + 1.) need
 * no escaping; inline markup, links, HTML and mentions do.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()!|<>~&@]/g, (c) => `\\${c}`);
}

/**
 * Text as a markdown code span, shown as it is: inside a code span a backslash
 * escape would show its backslash, so none is added; the fence is one backtick
 * longer than any run of backticks inside, so the text cannot close it, and a
 * line break cannot end it either.
 */
export function codeSpan(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

export function proposalUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/$/, "")}/proposals/${id}`;
}

/** The check run that shows a proposal's current state. Pure: proposal in, request body out. */
export function renderCheckRun(proposal: ProposalRow, publicUrl: string): CheckRunState {
  if (proposal.kind === "deploy") return renderDeployCheck(proposal, publicUrl);
  if (proposal.kind === "outreach") return renderOutreachCheck(proposal, publicUrl);
  if (proposal.kind !== "commit") {
    throw new Error(`no check-run rendering for ${(proposal as { kind: string }).kind} proposals yet`);
  }
  const state = proposal.state;
  const decision: StoredDecision = state.decision ?? {};
  const required = state.required ?? 1;
  const approvers = proposal.approvers ?? [];
  const url = proposalUrl(publicUrl, proposal.id);
  const sha = proposal.head_sha ?? "";
  const lines: string[] = [];

  if (proposal.status === "exempt") {
    lines.push(
      `The author of pull request #${proposal.pr_number}, @${escapeMarkdown(proposal.author ?? "")}, is not a configured agent, so Agent Gate does not hold it.`,
    );
  } else if (state.config_errors && state.config_errors.length > 0) {
    lines.push("`.github/agent-gate.yml` is invalid, so the gate stays closed until it is fixed:", "");
    for (const error of state.config_errors) lines.push(`- ${codeSpan(error.path)}: ${escapeMarkdown(error.message)}`);
  } else {
    lines.push(
      `**Proposed:** commit \`${sha}\` by @${escapeMarkdown(proposal.author ?? "")} (pull request #${proposal.pr_number})`,
      `**Who may approve:** ${required} distinct user${required === 1 ? "" : "s"} with at least \`${state.min_permission ?? "write"}\` permission, other than the author, a configured agent or a bot.`,
      `**How:** submit a pull request review that approves commit \`${sha.slice(0, 7)}\`. A new push needs a new approval.`,
      `**Approvals:** ${approvers.length}/${required}${approvers.length ? ` (${approvers.map((a) => `@${escapeMarkdown(a)}`).join(", ")})` : ""}`,
    );
    if (decision.refused && decision.refused.length > 0) {
      lines.push("", "**Not counted:**");
      for (const refusal of decision.refused)
        lines.push(`- @${escapeMarkdown(refusal.login)}: ${escapeMarkdown(refusal.reason)}`);
    }
    if (decision.reasons && decision.reasons.length > 0) {
      lines.push("", ...decision.reasons.map((reason) => `- ${escapeMarkdown(reason)}`));
    }
    lines.push(...rulesTable(decision.rules, escapeMarkdown));
  }
  lines.push("", `Digest \`${proposal.digest}\` · proposal \`${proposal.id}\` · [review page](${url})`);

  const base = {
    name: COMMIT_CHECK_NAME,
    head_sha: sha,
    external_id: proposal.id,
    details_url: url,
    output: {
      title: decision.title ?? titleFor(proposal.status, approvers.length, required),
      summary: lines.join("\n"),
    },
  };
  switch (proposal.status) {
    case "pending":
      // GitHub keeps a completed run's conclusion when it is set back to in progress: a head decided
      // before (and so completed, perhaps as success) waits as action_required.
      return state.reopened
        ? { ...base, status: "completed", conclusion: "action_required" }
        : { ...base, status: "in_progress" };
    case "approved":
    case "exempt":
      return { ...base, status: "completed", conclusion: "success" };
    case "superseded":
      // A failing conclusion: the old head was not approved as the pull request's head, and a required
      // check must not pass on it wherever it is pushed or merged.
      return {
        ...base,
        output: { ...base.output, title: supersededTitle(state.superseded_by) },
        status: "completed",
        conclusion: "cancelled",
      };
    default:
      return { ...base, status: "completed", conclusion: "failure" };
  }
}

function supersededTitle(newHead: unknown): string {
  return typeof newHead === "string" && /^[0-9a-f]{7,64}$/i.test(newHead)
    ? `Superseded by ${newHead.slice(0, 7)}`
    : "Superseded by a newer commit";
}

function titleFor(status: string, count: number, required: number): string {
  if (status === "pending") return `Waiting for approval (${count}/${required})`;
  return status.charAt(0).toUpperCase() + status.slice(1);
}

/** Check-run name of a deploy proposal; characters that hide or reorder text are shown as ⟦U+XXXX⟧. */
export function deployCheckName(environment: string): string {
  return `Agent Gate: deploy to ${showInvisibleLine(environment)}`;
}

/** Text a reviewer reads in the check run: hidden characters shown, then markdown-escaped. */
function shown(text: string): string {
  return escapeMarkdown(showInvisibleLine(text));
}

/** Buttons show only on a completed run; label <= 20, description <= 40, identifier <= 20 characters. */
export const DEPLOY_ACTIONS = [
  { label: "Approve", description: "Approve this exact deployment", identifier: "approve" },
  { label: "Reject", description: "Reject this deployment", identifier: "reject" },
];

function renderDeployCheck(proposal: ProposalOf<"deploy">, publicUrl: string): CheckRunState {
  const state = proposal.state;
  const decision: StoredDecision = state.decision ?? {};
  const required = state.required ?? 1;
  const details = proposal.details as { ref?: string | null; summary?: string; triggered_by?: string | null };
  const url = proposalUrl(publicUrl, proposal.id);
  const approvers = proposal.approvers ?? [];
  const requester = proposerLabel(proposal.author, proposal.details);
  const lines = [
    `**Deploy:** commit \`${proposal.head_sha ?? ""}\`${details.ref ? ` (${shown(details.ref)})` : ""} to environment **${shown(proposal.environment ?? "")}**${proposal.site ? ` on site **${shown(proposal.site)}**` : ""}`,
    ...(hiddenCharacterProblem(proposal.environment ?? "")
      ? [
          "**Warning:** the environment name holds characters that are invisible or reorder text; they are shown as `⟦U+XXXX⟧`. Approve only if that is the environment you mean.",
        ]
      : []),
    ...(details.summary ? [`**Summary:** ${shown(details.summary)}`] : []),
    `**Requested by:** ${requester.isLogin ? "@" : ""}${escapeMarkdown(requester.text)}${details.triggered_by && details.triggered_by !== proposal.author ? ` (run triggered by @${escapeMarkdown(details.triggered_by)})` : ""}`,
    `**Digest:** \`${proposal.digest}\` (commit, environment and site; the approval is bound to it)`,
    `**Who may approve:** ${required} distinct user${required === 1 ? "" : "s"} with at least \`${state.min_permission ?? "write"}\` permission, other than the requester, the user who triggered the run, a configured agent or a bot. Use the Approve or Reject button above; one eligible rejection wins.`,
    `**Approvals:** ${approvers.length}/${required}${approvers.length ? ` (${approvers.map((a) => `@${escapeMarkdown(a)}`).join(", ")})` : ""}`,
  ];
  if (decision.refused && decision.refused.length > 0) {
    lines.push("", "**Not counted:**");
    for (const refusal of decision.refused)
      lines.push(`- @${escapeMarkdown(refusal.login)}: ${escapeMarkdown(refusal.reason)}`);
  }
  lines.push(...rulesTable(decision.rules, escapeMarkdown));
  if (proposal.status !== "pending" && proposal.reason)
    lines.push("", `**Reason:** ${escapeMarkdown(proposal.reason)}`);
  lines.push("", `Proposal \`${proposal.id}\` · [review page](${url})`);
  const base = {
    name: deployCheckName(proposal.environment ?? ""),
    head_sha: proposal.head_sha ?? "",
    external_id: proposal.id,
    details_url: url,
    output: {
      title: decision.title ?? titleFor(proposal.status, approvers.length, required),
      summary: lines.join("\n"),
    },
  };
  if (proposal.status === "pending") {
    return { ...base, status: "completed", conclusion: "action_required", actions: DEPLOY_ACTIONS };
  }
  return {
    ...base,
    status: "completed",
    conclusion: proposal.status === "approved" ? "success" : "failure",
    actions: [],
  };
}
