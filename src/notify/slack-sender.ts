import { WebClient } from "@slack/web-api";
import type { OpenChannel } from "./channel-kinds.ts";
import type { ProposalMessage } from "./message.ts";
import { slackMessage } from "./slack-message.ts";

export const SLACK_API_URL = "https://slack.com/api/";

export interface SlackRef {
  channel: string;
  ts: string;
}

type SlackChannel = Extract<OpenChannel, { type: "slack" }>;

function client(channel: SlackChannel, apiUrl: string): WebClient {
  // The notifier retries and paces; the client neither retries nor waits out a rate limit itself.
  return new WebClient(channel.secret.token, {
    slackApiUrl: apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
  });
}

/** Post the message, or update the one already posted (chat.update); returns where it is. */
export async function sendSlack(
  channel: SlackChannel,
  message: ProposalMessage,
  posted: SlackRef | null,
  apiUrl: string,
): Promise<{ ref: SlackRef; updated: boolean }> {
  const web = client(channel, apiUrl);
  const { text, blocks } = slackMessage(message);
  if (posted) {
    await web.chat.update({ channel: posted.channel, ts: posted.ts, text, blocks });
    return { ref: posted, updated: true };
  }
  const result = await web.chat.postMessage({
    channel: channel.settings.channel,
    text,
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  });
  if (!result.ok || !result.ts || !result.channel)
    throw new Error("Slack accepted chat.postMessage without a channel and ts");
  return { ref: { channel: result.channel, ts: result.ts }, updated: false };
}

/** Slack's answer to a rate-limited call: wait this long (ms) before the channel sends again. */
export function slackRetryAfterMs(error: unknown): number | undefined {
  const seconds = (error as { retryAfter?: unknown }).retryAfter;
  return typeof seconds === "number" && seconds >= 0 ? seconds * 1000 : undefined;
}
