import { Webhook } from "standardwebhooks";
import type { OpenChannel } from "./channel-kinds.ts";
import { webhookType, type ProposalMessage } from "./message.ts";
import { expectOk } from "./teams-sender.ts";

/** The JSON body of a webhook delivery: the type and the proposal's identity, never outreach text. */
export function webhookBody(m: ProposalMessage): {
  type: string;
  timestamp: string;
  proposal: Record<string, unknown>;
} {
  return {
    type: webhookType(m),
    timestamp: new Date().toISOString(),
    proposal: {
      id: m.id,
      kind: m.kind,
      repo: m.repo,
      digest: m.digest,
      status: m.status,
      review_page_url: m.reviewUrl,
      ...(m.environment !== null ? { environment: m.environment } : {}),
      ...(m.site !== null ? { site: m.site } : {}),
      approvals: m.approvals,
      required: m.required,
      decided_by: m.decidedBy,
    },
  };
}

/**
 * POST the message signed per Standard Webhooks: `webhook-id` is the job's
 * id (the same on every retry, so a receiver drops a duplicate),
 * `webhook-timestamp` the time of sending, `webhook-signature` v1 HMAC.
 */
export async function sendWebhook(
  channel: Extract<OpenChannel, { type: "webhook" }>,
  message: ProposalMessage,
  messageId: string,
): Promise<void> {
  const body = JSON.stringify(webhookBody(message));
  const sentAt = new Date();
  const signature = new Webhook(channel.secret.secret).sign(messageId, sentAt, body);
  const response = await fetch(channel.secret.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": messageId,
      "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body,
    redirect: "error",
    signal: AbortSignal.timeout(10_000),
  });
  await expectOk(response);
}
