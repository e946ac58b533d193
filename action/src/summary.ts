import type { CreatedProposal, ProposalState } from "./api-types.ts";
import type { Inputs, Workflow } from "./inputs.ts";

import { appendFile } from "node:fs/promises";

/** The part of core.summary this file builds with. */
export interface SummaryBuilder {
  addHeading(text: string, level?: number): SummaryBuilder;
  addTable(rows: { data: string; header?: boolean }[][]): SummaryBuilder;
  addRaw(text: string, addEOL?: boolean): SummaryBuilder;
  stringify(): string;
  emptyBuffer(): SummaryBuilder;
}

export interface SummaryFacts {
  inputs: Inputs;
  workflow: Workflow;
  proposal: CreatedProposal;
  decision: "approved" | "rejected" | "expired" | "timed out";
  state?: ProposalState;
  receiptKid?: string;
}

/**
 * The job summary: what was asked, the link, who decided and when, and the
 * receipt's key id. Outreach text itself is never written here (a public
 * repository's run pages are readable by anyone): only its length and digest.
 */
export async function writeJobSummary(summary: SummaryBuilder, file: string, facts: SummaryFacts): Promise<void> {
  const { inputs, workflow, proposal, state } = facts;
  const rows: [string, string][] = [
    ["Kind", inputs.kind],
    ["Repository", workflow.repo],
    ["Commit", workflow.sha],
  ];
  if (inputs.environment !== undefined) rows.push(["Environment", inputs.environment]);
  if (inputs.site !== undefined) rows.push(["Site", inputs.site]);
  rows.push(["Summary", inputs.summary]);
  if (inputs.outreach !== undefined) {
    const { channel, recipients, subject, body } = inputs.outreach;
    rows.push(["Channel", channel]);
    rows.push(["Recipients", `${recipients.length} (not shown)`]);
    if (subject !== undefined) rows.push(["Subject", `${subject.length} characters (not shown)`]);
    rows.push(["Content", `${body.length} characters (not shown)`]);
  }
  rows.push(["Digest", proposal.digest]);
  rows.push(["Decision", facts.decision]);
  if (state && state.approvers.length > 0) rows.push(["Decided by", state.approvers.join(", ")]);
  if (state?.decided_at) rows.push(["Decided at", state.decided_at]);
  if (state?.reason) rows.push(["Reason", state.reason]);
  rows.push(["Expires at", state?.expires_at ?? proposal.expires_at]);
  if (facts.receiptKid !== undefined) rows.push(["Receipt key id", facts.receiptKid]);

  const html = summary
    .emptyBuffer()
    .addHeading(`Agent Gate: ${escapeHtml(facts.decision)}`, 2)
    .addRaw(`<p>Proposal <a href="${escapeHtml(safeLink(proposal.url))}">${escapeHtml(proposal.id)}</a></p>`, true)
    .addTable([
      [
        // core.summary leaves a cell with empty text unclosed (`<th>`): every header has text.
        { data: "Asked", header: true },
        { data: "Value", header: true },
      ],
      ...rows.map(([name, value]) => [{ data: escapeHtml(name) }, { data: escapeHtml(value) }]),
    ])
    .stringify();
  summary.emptyBuffer();
  // Appended to the file the runner names (what core.summary.write does), read
  // from the environment each time rather than cached for the process.
  await appendFile(file, html, { encoding: "utf8" });
}

/** Summary cells are HTML: everything the proposer wrote is shown as text. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function safeLink(url: string): string {
  return /^https?:\/\//i.test(url) ? url : "#";
}
