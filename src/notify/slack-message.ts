import type { KnownBlock } from "@slack/web-api";
import { statusLine, type ProposalMessage } from "./message.ts";

/** Slack's mrkdwn escapes: only &, < and > need it. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** What a button carries back on a click: the proposal and the digest the message showed. */
export interface ButtonValue {
  p: string;
  d: string;
}

export type SlackBlock = KnownBlock;

/**
 * The Block Kit message of a proposal: what is proposed, by whom, where, the
 * approvals still needed, the digest and a link to the review page; Approve
 * and Reject (action_ids `approve` and `reject`) while it may be voted here.
 */
export function slackMessage(m: ProposalMessage): { text: string; blocks: SlackBlock[] } {
  const e = slackEscape;
  const where = [
    `*Repository:* ${e(m.repo)}`,
    ...(m.environment !== null ? [`*Environment:* ${e(m.environment)}`] : []),
    ...(m.site !== null ? [`*Site:* ${e(m.site)}`] : []),
    `*Proposed by:* ${e(m.proposer)}`,
  ];
  const value = JSON.stringify({ p: m.id, d: m.digest } satisfies ButtonValue);
  const blocks: SlackBlock[] = [
    { type: "section", text: { type: "mrkdwn", text: `*<${m.reviewUrl}|${e(m.headline)}>*\n${where.join("\n")}` } },
    { type: "section", text: { type: "mrkdwn", text: e(statusLine(m)) } },
    { type: "context", elements: [{ type: "mrkdwn", text: `Digest \`${m.digest}\` · ${e(m.id)}` }] },
    {
      type: "actions",
      block_id: "decision",
      elements: [
        ...(m.votable
          ? [
              {
                type: "button" as const,
                action_id: "approve",
                style: "primary" as const,
                text: { type: "plain_text" as const, text: "Approve" },
                value,
              },
              {
                type: "button" as const,
                action_id: "reject",
                style: "danger" as const,
                text: { type: "plain_text" as const, text: "Reject" },
                value,
              },
            ]
          : []),
        {
          type: "button" as const,
          action_id: "open",
          text: { type: "plain_text" as const, text: "Open review page" },
          url: m.reviewUrl,
        },
      ],
    },
  ];
  return { text: `${m.headline} in ${m.repo}: ${statusLine(m)}`, blocks };
}
