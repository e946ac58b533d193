import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { findChannelByName, openChannel } from "./channel-store.ts";
import { sendToChannel } from "./deliver.ts";
import { classifyFailure } from "./failures.ts";
import type { ProposalMessage } from "./message.ts";

/** The message `channel test` sends: marked as a test, about no proposal, without buttons. */
function testMessage(publicUrl: string): ProposalMessage {
  return {
    event: "test",
    id: "prp_test0000000000000000",
    kind: "deploy",
    repo: "agent-gate/channel-test",
    headline: "Test message from Agent Gate (no proposal waits)",
    proposer: "agent-gate channel test",
    environment: null,
    site: null,
    digest: "0".repeat(64),
    status: "pending",
    required: 1,
    approvals: 0,
    votable: false,
    decidedBy: [],
    reason: null,
    reviewUrl: `${publicUrl.replace(/\/+$/, "")}/`,
    expiresAt: new Date(0).toISOString(),
  };
}

/** Send a test message to a channel now (not queued); audited as `channel.tested` with the outcome. */
export async function testChannel(
  db: Database,
  keyring: Keyring,
  installationId: number,
  name: string,
  options: { actor: string; now: Date; publicUrl: string; slackApiUrl: string },
): Promise<{ ok: boolean; error: string | null }> {
  const row = await db.tenant(installationId, (tx) => findChannelByName(tx, name));
  if (!row)
    throw new GateError(
      "channel_not_found",
      `No channel named ${name} for installation ${installationId}; see \`agent-gate channel list\`.`,
      { status: 404 },
    );
  let error: string | null = null;
  try {
    await sendToChannel(
      openChannel(keyring, row),
      testMessage(options.publicUrl),
      null,
      `ntf_test_${options.now.getTime()}`,
      options.slackApiUrl,
    );
  } catch (cause) {
    error = classifyFailure(cause).summary;
  }
  await db.tenant(installationId, (tx) =>
    appendAudit(
      tx,
      installationId,
      {
        action: "channel.tested",
        outcome: error ? "failed" : "ok",
        actor: options.actor,
        subject: row.id,
        data: { name: row.name, type: row.type, error },
      },
      options.now,
    ),
  );
  return { ok: error === null, error };
}
