import nodemailer from "nodemailer";
import type { OpenChannel } from "./channel-kinds.ts";
import { statusLine, type ProposalMessage } from "./message.ts";

function html(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The mail of a proposal: text and HTML, a link to the review page; no outreach text or recipients. */
export function emailContent(m: ProposalMessage): { subject: string; text: string; html: string } {
  const lines: [string, string][] = [
    ["Repository", m.repo],
    ...(m.environment !== null ? ([["Environment", m.environment]] as [string, string][]) : []),
    ...(m.site !== null ? ([["Site", m.site]] as [string, string][]) : []),
    ["Proposed by", m.proposer],
    ["Digest", m.digest],
  ];
  const status = statusLine(m);
  const subject = `[Agent Gate] ${m.headline} in ${m.repo}: ${m.status === "pending" ? "approval needed" : m.status}`;
  const text = [
    `${m.headline}`,
    status,
    "",
    ...lines.map(([k, v]) => `${k}: ${v}`),
    "",
    `Review and decide: ${m.reviewUrl}`,
    "",
  ].join("\n");
  const body = [
    `<p><strong>${html(m.headline)}</strong></p>`,
    `<p>${html(status)}</p>`,
    `<table>${lines.map(([k, v]) => `<tr><th align="left">${html(k)}</th><td><code>${html(v)}</code></td></tr>`).join("")}</table>`,
    `<p><a href="${html(m.reviewUrl)}">Review and decide</a></p>`,
  ].join("\n");
  return { subject, text, html: body };
}

/** Send over SMTP; `messageId` is the job's, the same on a retry. */
export async function sendEmail(
  channel: Extract<OpenChannel, { type: "email" }>,
  message: ProposalMessage,
  messageId: string,
): Promise<void> {
  const transport = nodemailer.createTransport({
    url: channel.secret.smtp_url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    const content = emailContent(message);
    await transport.sendMail({
      from: channel.settings.from,
      to: channel.settings.to,
      messageId: `<${messageId}@agent-gate>`,
      ...content,
    });
  } finally {
    transport.close();
  }
}
