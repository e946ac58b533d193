import type { OutreachChannel, OutreachContent } from "./content.ts";
import { showInvisible } from "./render.ts";

/** What may be said of an outreach proposal where anyone can read it: counts, domains and lengths. */
export interface RedactedOutreach {
  channel: OutreachChannel;
  recipients: number;
  /** Distinct recipient domains (email domains, API hosts, handle instances), sorted. */
  domains: string[];
  /** Subject length in characters; null without a subject. */
  subjectChars: number | null;
  bodyBytes: number;
}

function domainOf(channel: OutreachChannel, recipient: string): string | null {
  if (channel === "api") {
    try {
      return new URL(recipient).hostname.toLowerCase();
    } catch {
      return null;
    }
  }
  const at = recipient.lastIndexOf("@");
  return at > 0 && at < recipient.length - 1 ? recipient.slice(at + 1).toLowerCase() : null;
}

export function redactOutreach(content: OutreachContent): RedactedOutreach {
  const domains = new Set<string>();
  for (const recipient of content.recipients) {
    const domain = domainOf(content.channel, recipient);
    if (domain) domains.add(showInvisible(domain));
  }
  return {
    channel: content.channel,
    recipients: content.recipients.length,
    domains: [...domains].sort(),
    subjectChars: content.subject === null ? null : [...content.subject].length,
    bodyBytes: Buffer.byteLength(content.body, "utf8"),
  };
}

/**
 * Markdown for a public repository's pull request, file or check run: no
 * recipient and no text, only the redacted facts, the digest and the review
 * page, where signed-in people with enough permission read the rest.
 */
export function renderRedactedOutreach(
  view: { repo: string; site: string; digest: string; content: OutreachContent },
  reviewUrl: string,
): string[] {
  const facts = redactOutreach(view.content);
  const domains = facts.domains.length
    ? facts.domains.map((d) => `\`${d.replace(/`/g, "")}\``).join(", ")
    : "none (handles without a domain)";
  return [
    `**Channel:** ${facts.channel} · **Site:** ${view.site} · **Repository:** ${view.repo}`,
    `**Digest:** \`${view.digest}\` (SHA-256 of the canonical proposal; the approval and the receipt are bound to it)`,
    "",
    `**Recipients:** ${facts.recipients} · **Domains:** ${domains}`,
    `**Subject:** ${facts.subjectChars === null ? "none" : `${facts.subjectChars} characters`} · **Body:** ${facts.bodyBytes} bytes`,
    "",
    `This repository is public, so the recipients and the text are not shown here. Read them on the [review page](${reviewUrl}) (GitHub sign-in; shown to people with permission to approve) before deciding.`,
  ];
}
