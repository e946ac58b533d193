import type { AuditEvent } from "../audit/chain.ts";
import type { OutreachContent } from "../outreach/content.ts";
import { redactOutreach } from "../outreach/redacted.ts";
import type { PageAccess } from "../policy/review-access.ts";
import type { ProposalRow } from "../proposals/store.ts";
import { proposerLabel } from "../proposals/proposer.ts";
import type { Avatars } from "./avatars.ts";
import { escapeHtml as e, layout, personHtml, shownHtml, type Viewer } from "./html.ts";
import type { RuleResult } from "../policy/decide-rules.ts";
import { rulesTableHtml } from "./rules-table.ts";
import { shortHex, timeTag } from "./time.ts";

export interface ProposalPageModel {
  proposal: ProposalRow;
  viewer: Viewer;
  /** Where the pictures of the proposer, the voters and the audit trail's people come from. */
  avatars: Avatars;
  access: PageAccess;
  /** The opened outreach content (outreach proposals only). */
  outreach: OutreachContent | null;
  audit: AuditEvent[];
  /** GitHub's web address, for links to the repository, commit and pull request. */
  githubWeb: string;
  /** A fixed message after a vote, or null. */
  banner?: string | null;
  /** What relative times are counted from (default: the time of rendering). */
  now?: Date;
}

interface StoredVote {
  actor?: { login?: string; permission?: string };
  vote?: string;
  at?: string;
  via?: string;
}

interface StoredDecision {
  title?: string;
  approvers?: string[];
  rejectedBy?: string[];
  refused?: { login: string; reason: string }[];
  reasons?: string[];
  rules?: RuleResult[];
}

const KIND_TITLE = { commit: "Commit", deploy: "Deploy", outreach: "Outreach" } as const;

function row(term: string, value: string): string {
  return `<dt>${e(term)}</dt><dd>${value}</dd>`;
}

function link(href: string, text: string): string {
  return `<a href="${e(href)}">${text}</a>`;
}

/** The review page of one proposal: what will happen, its digest, rules, approvals, the decision buttons and its audit trail. */
export function renderProposalPage(m: ProposalPageModel): string {
  const p = m.proposal;
  const title = `${KIND_TITLE[p.kind]} proposal ${p.id}`;
  const decision = (p.state.decision ?? {}) as StoredDecision;
  const body = [
    `<h1>${e(KIND_TITLE[p.kind])} proposal <code>${e(p.id)}</code></h1>`,
    ...(m.banner ? [`<p class="banner" role="status">${e(m.banner)}</p>`] : []),
    `<p><span class="status status-${e(p.status)}">${e(p.status)}</span> ${decision.title ? e(decision.title) : ""}</p>`,
    `<h2 id="what">What will happen</h2>`,
    whatWillHappen(m),
    `<h2 id="digest">Digest</h2>`,
    `<p>${shortHex(p.digest)}</p>`,
    `<p class="note">${p.kind === "commit" ? "The approval is bound to this head commit: a new push needs a new approval." : "SHA-256 of the canonical proposal: the approval and the receipt are bound to it, and the executor checks it before acting."}</p>`,
    `<h2 id="rules">Rules</h2>`,
    rules(p, m.now ?? new Date()),
    `<h2 id="approvals">Approvals so far</h2>`,
    approvals(p, decision, m.avatars, m.now ?? new Date()),
    `<h2 id="decide">Decide</h2>`,
    decide(m),
    `<h2 id="audit">Audit trail</h2>`,
    auditTrail(m, m.now ?? new Date()),
  ];
  return layout(title, body.join("\n"), { viewer: m.viewer, avatars: m.avatars });
}

function whatWillHappen(m: ProposalPageModel): string {
  const p = m.proposal;
  const repoUrl = `${m.githubWeb}/${p.repo}`;
  const details = p.details as {
    ref?: string | null;
    run_id?: number;
    base?: string;
    summary?: string;
    triggered_by?: string | null;
  };
  const rows = [row("Repository", link(repoUrl, e(p.repo)))];
  if (p.kind === "deploy") {
    rows.push(
      row("Commit", p.head_sha ? link(`${repoUrl}/commit/${p.head_sha}`, shortHex(p.head_sha)) : "unknown"),
      row("Environment", shownHtml(p.environment ?? "")),
      row("Site", shownHtml(p.site ?? "none")),
    );
    if (details.ref) rows.push(row("Ref", `<code>${shownHtml(details.ref)}</code>`));
    if (details.run_id)
      rows.push(row("Workflow run", link(`${repoUrl}/actions/runs/${details.run_id}`, String(details.run_id))));
  } else if (p.kind === "commit") {
    const sha = p.head_sha ?? "";
    rows.push(
      row("Pull request", p.pr_number ? link(`${repoUrl}/pull/${p.pr_number}`, `#${p.pr_number}`) : "none"),
      row(
        "Commit range",
        `${details.base ? shortHex(details.base) : "<code>base</code>"}…${shortHex(sha)} (${link(`${repoUrl}/pull/${p.pr_number}/files`, "changes")})`,
      ),
    );
  } else {
    rows.push(row("Site", shownHtml(p.site ?? "")));
    if (p.pr_number) rows.push(row("Pull request", link(`${repoUrl}/pull/${p.pr_number}`, `#${p.pr_number}`)));
  }
  const proposer = proposerLabel(p.author, p.details);
  rows.push(
    row(
      "Proposed by",
      proposer.isLogin
        ? personHtml(m.avatars, p.author ?? "", proposer.text)
        : `<span class="person">${e(proposer.text)}</span>`,
    ),
  );
  if (details.summary) rows.push(row("Summary", `<pre>${shownHtml(details.summary)}</pre>`));
  const parts = [`<dl>${rows.join("")}</dl>`];
  if (p.kind === "outreach" && m.outreach)
    parts.push(m.access.fullContent ? outreachFull(m.outreach) : outreachRedacted(m.outreach));
  return parts.join("\n");
}

function outreachFull(c: OutreachContent): string {
  return [
    `<h3>The ${e(c.channel)} to send</h3>`,
    `<p>Recipients (${c.recipients.length}):</p>`,
    `<pre class="recipients">${c.recipients.map(shownHtml).join("\n")}</pre>`,
    ...(c.subject === null ? [] : ["<p>Subject:</p>", `<pre class="subject">${shownHtml(c.subject)}</pre>`]),
    `<p>Body (${Buffer.byteLength(c.body, "utf8")} bytes):</p>`,
    `<pre class="body">${shownHtml(c.body)}</pre>`,
    `<p class="note">Shown exactly as it will be sent: nothing is rendered as HTML or markdown, and invisible, bidirectional and control characters appear as <mark class="hidden-char">⟦U+XXXX⟧</mark>.</p>`,
  ].join("\n");
}

function outreachRedacted(c: OutreachContent): string {
  const facts = redactOutreach(c);
  return [
    `<dl>`,
    row("Channel", e(facts.channel)),
    row(
      "Recipients",
      `${facts.recipients} (domains: ${facts.domains.map((d) => `<code>${e(d)}</code>`).join(", ") || "none"})`,
    ),
    row("Subject", facts.subjectChars === null ? "none" : `${facts.subjectChars} characters`),
    row("Body", `${facts.bodyBytes} bytes`),
    `</dl>`,
    `<p class="note">This repository is public: the recipients and the text are shown only to people with permission to approve.</p>`,
  ].join("\n");
}

function rules(p: ProposalRow, now: Date): string {
  const state = p.state as { required?: number; min_permission?: string };
  const details = p.details as { triggered_by?: string | null };
  const required = state.required ?? 1;
  const how =
    p.kind === "commit"
      ? "by an approving pull request review of the head commit"
      : p.kind === "outreach" && p.state.mode !== "check_run"
        ? "by a review of the outreach pull request"
        : "with Approve or Reject, here or on the check run";
  const excluded = [`the proposer (${e(proposerLabel(p.author, p.details).text)})`];
  if (details.triggered_by && details.triggered_by !== p.author)
    excluded.push(`the user who triggered the run (${e(details.triggered_by)})`);
  excluded.push("a configured agent", "a bot");
  return [
    `<ul>`,
    `<li>Needs <strong>${required}</strong> distinct approver${required === 1 ? "" : "s"} with at least <strong>${e(state.min_permission ?? "write")}</strong> permission on the repository, asked of GitHub when they decide.</li>`,
    `<li>Not eligible: ${excluded.join(", ")}.</li>`,
    `<li>Any rejection by an eligible person rejects it. Decided ${how}.</li>`,
    `<li>Expires ${timeTag(p.expires_at, now)} if undecided, and is then rejected.</li>`,
    `</ul>`,
  ].join("\n");
}

function approvals(p: ProposalRow, decision: StoredDecision, avatars: Avatars, now: Date): string {
  const votes = ((p.state.votes as StoredVote[] | undefined) ?? []).filter((v) => v.actor?.login);
  const names = (list: string[] | undefined) =>
    list && list.length ? list.map((login) => personHtml(avatars, login)).join(", ") : "none";
  const parts = [
    `<dl>`,
    row("Approved by", names(p.approvers)),
    row("Rejected by", names(decision.rejectedBy)),
    `</dl>`,
  ];
  if (decision.refused && decision.refused.length) {
    parts.push(
      `<p>Not counted:</p><ul>${decision.refused.map((r) => `<li>${e(r.login)}: ${e(r.reason)}</li>`).join("")}</ul>`,
    );
  }
  if (decision.reasons && decision.reasons.length && p.kind === "commit") {
    parts.push(`<ul>${decision.reasons.map((r) => `<li>${e(r)}</li>`).join("")}</ul>`);
  }
  parts.push(rulesTableHtml(decision.rules));
  if (votes.length) {
    parts.push(
      `<div class="scroll"><table><thead><tr><th>Who</th><th>Vote</th><th>Permission</th><th>When</th><th>Where</th></tr></thead><tbody>`,
      ...votes.map(
        (v) =>
          `<tr><td>${personHtml(avatars, v.actor?.login ?? "")}</td><td>${e(v.vote ?? "")}</td><td>${e(v.actor?.permission ?? "")}</td><td>${v.at ? timeTag(v.at, now) : ""}</td><td>${e((v.via ?? "check_run").replace("_", " "))}</td></tr>`,
      ),
      `</tbody></table></div>`,
    );
  }
  return parts.join("\n");
}

function decide(m: ProposalPageModel): string {
  if (!m.access.buttons) return `<p class="note">${e(m.access.note)}</p>`;
  const p = m.proposal;
  return `<form method="post" action="/proposals/${e(p.id)}/decision">
<input type="hidden" name="csrf" value="${e(m.viewer.csrf)}">
<input type="hidden" name="digest" value="${e(p.digest)}">
<p>You may decide this proposal. Your decision is recorded as <strong>${e(m.viewer.login)}</strong>, bound to digest <code>${e(p.digest.slice(0, 12))}</code>…, and counts like a click on the check run.</p>
<div class="decide"><button type="submit" name="vote" value="approve" class="approve">Approve</button><button type="submit" name="vote" value="reject" class="reject">Reject</button></div>
</form>`;
}

/** An audit event's actor: a person with their picture, the proposal's own token by its name, anything else as recorded. */
function actorHtml(m: ProposalPageModel, actor: string): string {
  if (actor === m.proposal.author && actor.startsWith("token:"))
    return `<span class="person">${e(proposerLabel(actor, m.proposal.details).text)}</span>`;
  return personHtml(m.avatars, actor);
}

function auditTrail(m: ProposalPageModel, now: Date): string {
  const events = m.audit;
  if (events.length === 0) return `<p class="note">No events.</p>`;
  const items = events.map(
    (ev) =>
      `<li><p><strong>#${ev.seq} ${e(ev.action)}</strong> · ${e(ev.outcome)}${ev.actor ? ` · ${actorHtml(m, ev.actor)}` : ""} · ${timeTag(ev.created_at, now)}</p>
<details><summary>hash ${shortHex(ev.hash)}</summary><dl><dt>hash</dt><dd><code>${e(ev.hash)}</code></dd><dt>previous</dt><dd><code>${e(ev.prev_hash)}</code></dd></dl></details></li>`,
  );
  return [
    `<p class="note">Each event's hash is SHA-256 over the previous event's hash and the event; <code>agent-gate audit verify</code> checks the chain of an export offline.</p>`,
    `<ol class="audit">`,
    ...items,
    `</ol>`,
  ].join("\n");
}
