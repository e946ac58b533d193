import type { Queryable } from "../db/database.ts";
import { openText, seal, type Keyring } from "../crypto/keyring.ts";
import type { OutreachContent } from "./content.ts";

export const OUTREACH_PURPOSE = "outreach";

/** Store an outreach proposal's content sealed to its proposal row and installation. */
export async function insertOutreach(
  tx: Queryable,
  keyring: Keyring,
  proposal: { id: string; installationId: number },
  content: OutreachContent,
  now: Date,
): Promise<void> {
  const sealed = seal(
    keyring,
    { purpose: OUTREACH_PURPOSE, rowId: proposal.id, installationId: proposal.installationId },
    JSON.stringify({ channel: content.channel, recipients: content.recipients, subject: content.subject, body: content.body }),
  );
  await tx.query(
    `INSERT INTO proposals_outreach (proposal_id, installation_id, channel, recipient_count, sealed, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [proposal.id, proposal.installationId, content.channel, content.recipients.length, sealed, now],
  );
}

/** The content of an outreach proposal, opened; undefined when there is none. A ciphertext moved to another row fails to open. */
export async function readOutreach(tx: Queryable, keyring: Keyring, proposalId: string): Promise<OutreachContent | undefined> {
  const [row] = await tx.query<{ installation_id: number; sealed: string }>(
    "SELECT installation_id, sealed FROM proposals_outreach WHERE proposal_id = $1",
    [proposalId],
  );
  if (!row) return undefined;
  const text = openText(keyring, { purpose: OUTREACH_PURPOSE, rowId: proposalId, installationId: row.installation_id }, row.sealed);
  return JSON.parse(text) as OutreachContent;
}
