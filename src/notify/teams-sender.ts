import type { OpenChannel } from "./channel-kinds.ts";
import { statusLine, type ProposalMessage } from "./message.ts";

/** The Adaptive Card of a proposal, as a Teams Workflows webhook takes it ("When a Teams webhook request is received"). */
export function teamsCard(m: ProposalMessage): Record<string, unknown> {
  const facts = [
    { title: "Repository", value: m.repo },
    ...(m.environment !== null ? [{ title: "Environment", value: m.environment }] : []),
    ...(m.site !== null ? [{ title: "Site", value: m.site }] : []),
    { title: "Proposed by", value: m.proposer },
    { title: "Digest", value: m.digest },
  ];
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [
            { type: "TextBlock", text: m.headline, weight: "Bolder", size: "Medium", wrap: true },
            { type: "TextBlock", text: statusLine(m), wrap: true },
            { type: "FactSet", facts },
          ],
          actions: [{ type: "Action.OpenUrl", title: "Open review page", url: m.reviewUrl }],
        },
      },
    ],
  };
}

export class ChannelHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`the receiver answered HTTP ${status}`);
    this.name = "ChannelHttpError";
  }
}

/** A receiver's answer: 2xx is sent; anything else throws with its status (and Retry-After). */
export async function expectOk(response: Response): Promise<void> {
  await response.arrayBuffer();
  if (response.ok) return;
  const after = Number(response.headers.get("retry-after"));
  throw new ChannelHttpError(response.status, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
}

export async function sendTeams(
  channel: Extract<OpenChannel, { type: "teams" }>,
  message: ProposalMessage,
): Promise<void> {
  const response = await fetch(channel.secret.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(teamsCard(message)),
    redirect: "error",
    signal: AbortSignal.timeout(10_000),
  });
  await expectOk(response);
}
