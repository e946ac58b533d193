import { openText, seal, type Keyring } from "../crypto/keyring.ts";
import type { Queryable } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { SECRET_SCHEMAS, SETTINGS_SCHEMAS, type ChannelType, type OpenChannel } from "./channel-kinds.ts";

/** The owner of notify_channels: every read and write of a channel row, in a tenant transaction. */

export const CHANNEL_PURPOSE = "notify_channel";

export type ChannelRow = {
  id: string;
  installation_id: number;
  name: string;
  type: ChannelType;
  settings: Record<string, unknown>;
  sealed_secret: string;
  created_by: string | null;
  created_at: Date;
};

const COLUMNS = "id, installation_id, name, type, settings, sealed_secret, created_by, created_at";

export async function insertChannel(
  tx: Queryable,
  keyring: Keyring,
  row: {
    id: string;
    installationId: number;
    name: string;
    type: ChannelType;
    settings: Record<string, unknown>;
    secret: Record<string, unknown>;
    createdBy: string;
    now: Date;
  },
): Promise<void> {
  const sealed = seal(
    keyring,
    { purpose: CHANNEL_PURPOSE, rowId: row.id, installationId: row.installationId },
    JSON.stringify(row.secret),
  );
  try {
    await tx.query(
      `INSERT INTO notify_channels (id, installation_id, name, type, settings, sealed_secret, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [row.id, row.installationId, row.name, row.type, JSON.stringify(row.settings), sealed, row.createdBy, row.now],
    );
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new GateError(
        "channel_exists",
        `A channel named ${row.name} already exists for installation ${row.installationId}; remove it first or pick another name.`,
        { status: 409 },
      );
    }
    throw error;
  }
}

export async function listChannelRows(tx: Queryable): Promise<ChannelRow[]> {
  return tx.query<ChannelRow>(`SELECT ${COLUMNS} FROM notify_channels WHERE removed_at IS NULL ORDER BY lower(name)`);
}

export async function findChannelByName(tx: Queryable, name: string): Promise<ChannelRow | undefined> {
  const [row] = await tx.query<ChannelRow>(
    `SELECT ${COLUMNS} FROM notify_channels WHERE removed_at IS NULL AND lower(name) = lower($1)`,
    [name],
  );
  return row;
}

export async function findChannel(tx: Queryable, id: string): Promise<ChannelRow | undefined> {
  const [row] = await tx.query<ChannelRow>(
    `SELECT ${COLUMNS} FROM notify_channels WHERE removed_at IS NULL AND id = $1`,
    [id],
  );
  return row;
}

/** Mark a channel removed and erase its sealed secret; returns whether one was removed. */
export async function removeChannelRow(tx: Queryable, id: string, now: Date): Promise<boolean> {
  const rows = await tx.query(
    "UPDATE notify_channels SET removed_at = $2, sealed_secret = '' WHERE id = $1 AND removed_at IS NULL RETURNING id",
    [id, now],
  );
  return rows.length > 0;
}

/**
 * The channel with its secret opened and both parts checked against the
 * type's schema. A secret sealed for another row or installation, or under a
 * key the keyring lacks, throws (sealed_value_mismatch): nothing is sent.
 */
export function openChannel(keyring: Keyring, row: ChannelRow): OpenChannel {
  const text = openText(
    keyring,
    { purpose: CHANNEL_PURPOSE, rowId: row.id, installationId: row.installation_id },
    row.sealed_secret,
  );
  const secret = SECRET_SCHEMAS[row.type].parse(JSON.parse(text));
  const settings = SETTINGS_SCHEMAS[row.type].parse(row.settings);
  return {
    id: row.id,
    installationId: row.installation_id,
    name: row.name,
    type: row.type,
    settings,
    secret,
  } as OpenChannel;
}
