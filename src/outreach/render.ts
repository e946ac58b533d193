import type { OutreachContent } from "./content.ts";

/**
 * Characters that would hide or disguise text: controls (but newline), format
 * characters (bidi overrides and isolates U+202A-202E, U+2066-2069, zero-width
 * U+200B-200D, U+2060, U+FEFF, tags), line and paragraph separators, spaces
 * other than U+0020, private-use, unassigned and lone surrogates, blank-looking
 * letters, and the marker's own bracket so a shown marker cannot be forged.
 */
const HIDDEN =
  // eslint-disable-next-line no-misleading-character-class -- each invisible code point is listed on its own on purpose
  /(?!\n)[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFE00-\uFE0F\uFFA0\u27E6\u27E7]|(?! )\p{Zs}/gu;

/** `⟦U+202E⟧` for every character in HIDDEN; everything else unchanged. */
export function showInvisible(text: string): string {
  return text.replace(HIDDEN, (c) => `⟦U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}⟧`);
}

/** One line a reviewer reads (an environment, a check-run name): hidden characters and line breaks shown. */
export function showInvisibleLine(text: string): string {
  return showInvisible(text).replace(/\n/g, "⟦U+000A⟧");
}

/**
 * A fenced code block GitHub shows verbatim: no markdown, no HTML. The fence is
 * longer than any backtick run inside, so the text cannot close it.
 */
export function fenced(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** Shown text: invisible characters made visible, then fenced. */
export function shownBlock(text: string): string {
  return fenced(showInvisible(text));
}

export interface OutreachView {
  id: string;
  repo: string;
  site: string;
  digest: string;
  content: OutreachContent;
}

/**
 * The proposal file `.agent-gate/outreach/<id>.md`: everything that will be
 * sent, shown so it cannot disguise itself; or, in a public repository, the
 * redacted lines given as `shown`.
 */
export function renderOutreachFile(view: OutreachView, redacted?: { shown: string[]; reviewUrl: string }): string {
  const approve = redacted
    ? `Read the recipients and the text on the [review page](${redacted.reviewUrl}) first: approving this pull request approves sending exactly what that page shows (digest \`${view.digest}\`).`
    : "Approve this pull request to approve sending exactly this text.";
  return [
    `# Outreach proposal ${view.id}`,
    "",
    ...(redacted?.shown ?? renderOutreachBody(view)),
    "",
    `${approve} Closing it unmerged rejects it; any change to this file rejects it.`,
    "",
  ].join("\n");
}

/** The shared part of the file and the check run. `maxBodyChars` shortens the shown body (check runs hold 65,535 characters). */
export function renderOutreachBody(view: OutreachView, maxBodyChars = Infinity): string[] {
  const { content } = view;
  const body = showInvisible(content.body);
  const cut = body.length > maxBodyChars;
  const lines = [
    `**Channel:** ${content.channel} · **Site:** ${view.site} · **Repository:** ${view.repo}`,
    `**Digest:** \`${view.digest}\` (SHA-256 of the canonical proposal; the approval and the receipt are bound to it)`,
    "",
    `**Recipients (${content.recipients.length}):**`,
    "",
    fenced(content.recipients.map(showInvisible).join("\n")),
    "",
  ];
  if (content.subject !== null) lines.push("**Subject:**", "", shownBlock(content.subject), "");
  lines.push(
    `**Body (${Buffer.byteLength(content.body, "utf8")} bytes):**`,
    "",
    fenced(cut ? body.slice(0, maxBodyChars) : body),
    "",
  );
  if (cut)
    lines.push(
      `The body is too long to show here in full: the first ${maxBodyChars} of ${body.length} characters are shown. Read it all on the review page before approving.`,
      "",
    );
  lines.push(
    "Invisible and control characters are shown as `⟦U+XXXX⟧`; nothing inside the fenced blocks is rendered as markdown or HTML.",
  );
  return lines;
}
