import { z } from "zod";
import type { Queryable } from "../db/database.ts";

/** The owner of notify_messages: what each channel was sent for a proposal, so it is updated, not sent again. */

export const messageRefSchema = z.union([z.strictObject({ channel: z.string(), ts: z.string() }), z.strictObject({})]);
export type MessageRef = z.infer<typeof messageRefSchema>;

export interface SentMessage {
  channel_id: string;
  ref: MessageRef;
  digest: string;
}

export async function sentMessages(tx: Queryable, proposalId: string): Promise<SentMessage[]> {
  const rows = await tx.query<{ channel_id: string; ref: unknown; digest: string }>(
    "SELECT channel_id, ref, digest FROM notify_messages WHERE proposal_id = $1 ORDER BY created_at, channel_id",
    [proposalId],
  );
  return rows.map((row) => ({ channel_id: row.channel_id, digest: row.digest, ref: messageRefSchema.parse(row.ref) }));
}

export async function sentMessage(
  tx: Queryable,
  proposalId: string,
  channelId: string,
): Promise<SentMessage | undefined> {
  return (await sentMessages(tx, proposalId)).find((m) => m.channel_id === channelId);
}

export async function recordMessage(
  tx: Queryable,
  m: { installationId: number; proposalId: string; channelId: string; ref: MessageRef; digest: string },
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO notify_messages (installation_id, proposal_id, channel_id, ref, digest, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (proposal_id, channel_id) DO UPDATE SET updated_at = EXCLUDED.updated_at,
       ref = CASE WHEN EXCLUDED.ref = '{}'::jsonb THEN notify_messages.ref ELSE EXCLUDED.ref END`,
    [m.installationId, m.proposalId, m.channelId, JSON.stringify(m.ref), m.digest, now],
  );
}

/** The Slack message a ref names, or null. */
export function slackRefOf(ref: MessageRef | null | undefined): { channel: string; ts: string } | null {
  return ref && "ts" in ref && typeof ref.ts === "string" && typeof ref.channel === "string"
    ? { channel: ref.channel, ts: ref.ts }
    : null;
}
