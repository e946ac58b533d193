import { randomBytes } from "node:crypto";
import { appendAudit } from "../audit/log.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { GateError, ValidationError } from "../errors.ts";
import { randomBase62 } from "../proposals/ids.ts";
import {
  CHANNEL_NAME,
  CHANNEL_NAME_MESSAGE,
  CHANNEL_TYPES,
  SECRET_SCHEMAS,
  SETTINGS_SCHEMAS,
  type ChannelType,
} from "./channel-kinds.ts";
import {
  findChannelByName,
  insertChannel,
  listChannelRows,
  removeChannelRow,
  type ChannelRow,
} from "./channel-store.ts";

/** What an admin gives to add a channel (the CLI's flags, the API's body). */
export interface ChannelInput {
  type: string;
  name: string;
  token?: string | undefined;
  signingSecret?: string | undefined;
  channel?: string | undefined;
  url?: string | undefined;
  smtpUrl?: string | undefined;
  from?: string | undefined;
  to?: string[] | undefined;
}

/** A channel as shown: no secret. */
export interface ChannelView {
  id: string;
  installation_id: number;
  name: string;
  type: ChannelType;
  settings: Record<string, unknown>;
  created_by: string | null;
  created_at: string;
}

/** Field names as the CLI spells them, so an error names the flag to fix. */
const FLAG: Record<string, string> = {
  token: "--token",
  signing_secret: "--signing-secret",
  channel: "--channel",
  url: "--url",
  smtp_url: "--smtp-url",
  from: "--from",
  to: "--to",
};

function issuesOf(error: { issues: { path: PropertyKey[]; message: string }[] }): { field: string; message: string }[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    return { field: FLAG[key] ?? (key || "channel"), message: issue.message };
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}

/** The type's secret and settings from the input, each checked; every problem at once. */
function partsOf(
  input: ChannelInput,
  type: ChannelType,
): { secret: Record<string, unknown>; settings: Record<string, unknown>; shownOnce: string | null } {
  let raw: { secret: Record<string, unknown>; settings: Record<string, unknown> };
  let shownOnce: string | null = null;
  switch (type) {
    case "slack":
      raw = {
        secret: { token: input.token, signing_secret: input.signingSecret },
        settings: { channel: input.channel },
      };
      break;
    case "teams":
      raw = { secret: { url: input.url }, settings: { host: hostOf(input.url ?? "") } };
      break;
    case "email":
      raw = { secret: { smtp_url: input.smtpUrl }, settings: { from: input.from, to: input.to ?? [] } };
      break;
    case "webhook":
      shownOnce = `whsec_${randomBytes(32).toString("base64")}`;
      raw = { secret: { url: input.url, secret: shownOnce }, settings: { host: hostOf(input.url ?? "") } };
      break;
  }
  const secret = SECRET_SCHEMAS[type].safeParse(raw.secret);
  const settings = SETTINGS_SCHEMAS[type].safeParse(raw.settings);
  const issues = [
    ...(secret.success ? [] : issuesOf(secret.error)),
    ...(settings.success ? [] : issuesOf(settings.error)),
  ];
  if (issues.length || !secret.success || !settings.success) throw new ValidationError(issues);
  return { secret: secret.data, settings: settings.data, shownOnce };
}

export function channelView(row: ChannelRow): ChannelView {
  return {
    id: row.id,
    installation_id: row.installation_id,
    name: row.name,
    type: row.type,
    settings: row.settings,
    created_by: row.created_by,
    created_at: new Date(row.created_at).toISOString(),
  };
}

/**
 * Add a channel: checked, its secrets sealed to its row, audited
 * (`channel.added`, with its name and type only). A webhook channel's signing
 * secret is made here and returned once as `secret`.
 */
export async function addChannel(
  db: Database,
  keyring: Keyring,
  installationId: number,
  input: ChannelInput,
  actor: string,
  now: Date,
): Promise<{ channel: ChannelView; secret: string | null }> {
  const issues: { field: string; message: string }[] = [];
  if (!(CHANNEL_TYPES as readonly string[]).includes(input.type))
    issues.push({ field: "type", message: `must be one of ${CHANNEL_TYPES.join(", ")}` });
  if (!CHANNEL_NAME.test(input.name)) issues.push({ field: "name", message: CHANNEL_NAME_MESSAGE });
  if (issues.length) throw new ValidationError(issues);
  const type = input.type as ChannelType;
  const { secret, settings, shownOnce } = partsOf(input, type);
  const id = `chn_${randomBase62(20)}`;
  await db.tenant(installationId, async (tx) => {
    await insertChannel(tx, keyring, {
      id,
      installationId,
      name: input.name,
      type,
      settings,
      secret,
      createdBy: actor,
      now,
    });
    await appendAudit(
      tx,
      installationId,
      { action: "channel.added", outcome: "ok", actor, subject: id, data: { name: input.name, type } },
      now,
    );
  });
  const row = await db.tenant(installationId, (tx) => findChannelByName(tx, input.name));
  if (!row) throw new GateError("channel_missing", "The channel was added but cannot be read back.");
  return { channel: channelView(row), secret: shownOnce };
}

export async function listChannels(db: Database, installationId: number): Promise<ChannelView[]> {
  return (await db.tenant(installationId, (tx) => listChannelRows(tx))).map(channelView);
}

/** Remove a channel by name: its secret erased, audited (`channel.removed`). */
export async function removeChannel(
  db: Database,
  installationId: number,
  name: string,
  actor: string,
  now: Date,
): Promise<ChannelView> {
  return db.tenant(installationId, async (tx) => {
    const row = await findChannelByName(tx, name);
    if (!row || !(await removeChannelRow(tx, row.id, now))) {
      throw new GateError(
        "channel_not_found",
        `No channel named ${name} for installation ${installationId}; see \`agent-gate channel list\`.`,
        { status: 404 },
      );
    }
    await appendAudit(
      tx,
      installationId,
      { action: "channel.removed", outcome: "ok", actor, subject: row.id, data: { name: row.name, type: row.type } },
      now,
    );
    return channelView(row);
  });
}
