import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { findProposal } from "../proposals/store.ts";
import type { OpenChannel } from "./channel-kinds.ts";
import { findChannel, openChannel } from "./channel-store.ts";
import { sendEmail } from "./email-sender.ts";
import type { NotifyJob } from "./jobs.ts";
import { proposalMessage, type ProposalMessage } from "./message.ts";
import { recordMessage, sentMessage, slackRefOf, type MessageRef } from "./messages-store.ts";
import { sendSlack } from "./slack-sender.ts";
import { sendTeams } from "./teams-sender.ts";
import { sendWebhook } from "./webhook-sender.ts";

export interface DeliverDeps {
  db: Database;
  keyring: Keyring | null;
  publicUrl: () => string;
  slackApiUrl: string;
}

/** A failure no retry can fix (no keyring, a secret that does not open): the job ends as failed at once. */
export class PermanentSendError extends GateError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** Send (or update) one message on one channel; returns what was done, for the job's outcome. */
export async function sendToChannel(
  channel: OpenChannel,
  message: ProposalMessage,
  previous: MessageRef | null,
  messageId: string,
  slackApiUrl: string,
): Promise<{ ref: MessageRef; updated: boolean }> {
  switch (channel.type) {
    case "slack":
      return sendSlack(channel, message, slackRefOf(previous), slackApiUrl);
    case "teams":
      await sendTeams(channel, message);
      return { ref: {}, updated: false };
    case "email":
      await sendEmail(channel, message, messageId);
      return { ref: {}, updated: false };
    case "webhook":
      await sendWebhook(channel, message, messageId);
      return { ref: {}, updated: false };
  }
}

/**
 * Perform a channel's job: the channel opened (its secret checked against
 * its row and installation), the proposal read as it is now, the message
 * sent or updated, and the send recorded and audited (`notification.sent`
 * or `notification.updated`: channel name and type, event, status; never a
 * secret, an address or outreach text).
 */
export async function deliver(
  deps: DeliverDeps,
  job: NotifyJob & { channel_id: string },
  now: () => Date,
): Promise<string> {
  const { db } = deps;
  const read = await db.tenant(job.installation_id, async (tx) => ({
    row: await findChannel(tx, job.channel_id),
    proposal: await findProposal(tx, job.proposal_id),
    previous: await sentMessage(tx, job.proposal_id, job.channel_id),
  }));
  if (!read.row || !read.proposal) return "skipped";
  if (!deps.keyring)
    throw new PermanentSendError("keyring_missing", "no keyring: set AGENT_GATE_KEYS to open the channel's secrets");
  let channel: OpenChannel;
  try {
    channel = openChannel(deps.keyring, read.row);
  } catch (error) {
    throw new PermanentSendError(
      "channel_unreadable",
      error instanceof GateError ? error.code : "the channel's stored settings do not parse",
    );
  }
  const message = proposalMessage(read.proposal, job.event, deps.publicUrl());
  const sent = await sendToChannel(channel, message, read.previous?.ref ?? null, `ntf_${job.id}`, deps.slackApiUrl);
  await db.tenant(job.installation_id, async (tx) => {
    await recordMessage(
      tx,
      {
        installationId: job.installation_id,
        proposalId: job.proposal_id,
        channelId: channel.id,
        ref: sent.ref,
        digest: message.digest,
      },
      now(),
    );
    await appendAudit(
      tx,
      job.installation_id,
      {
        action: sent.updated ? "notification.updated" : "notification.sent",
        outcome: "ok",
        repo: message.repo,
        subject: message.id,
        data: {
          event: job.event,
          channel: channel.name,
          type: channel.type,
          status: message.status,
          digest: message.digest,
        },
      },
      now(),
    );
  });
  return sent.updated ? "updated" : "sent";
}
