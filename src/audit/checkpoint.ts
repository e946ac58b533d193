import type { Queryable } from "../db/database.ts";
import { fromBase64url } from "../crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../crypto/signer.ts";
import { openNote, signNote, type NoteVerifier } from "./note.ts";

/**
 * A signed checkpoint of an installation's Merkle tree: a C2SP tlog-checkpoint
 * (https://c2sp.org/tlog-checkpoint) in a C2SP signed note:
 *
 *   agent-gate/audit/<installation id>
 *   <tree size>
 *   <base64 of the 32-byte RFC 6962 root hash>
 *
 *   — agent-gate/<kid> <base64(4-byte key id || Ed25519 signature)>
 */
export interface Checkpoint {
  installationId: number;
  size: number;
  /** hex */
  root: string;
}

const ORIGIN_PREFIX = "agent-gate/audit/";

export function checkpointOrigin(installationId: number): string {
  return `${ORIGIN_PREFIX}${installationId}`;
}

export function noteKeyName(kid: string): string {
  return `agent-gate/${kid}`;
}

export function checkpointBody(checkpoint: Checkpoint): string {
  return `${checkpointOrigin(checkpoint.installationId)}\n${checkpoint.size}\n${Buffer.from(checkpoint.root, "hex").toString("base64")}\n`;
}

export function signCheckpoint(checkpoint: Checkpoint, signer: Signer): string {
  return signNote(checkpointBody(checkpoint), noteKeyName(signer.keyId), signer.secretKey, signer.publicKey);
}

/** The app's published keys as signed-note verifiers. */
export function noteVerifiers(keys: PublishedKeys): NoteVerifier[] {
  const verifiers: NoteVerifier[] = [];
  for (const key of keys.keys) {
    const publicKey = fromBase64url(key.public_key);
    if (key.alg === "Ed25519" && publicKey && publicKey.length === 32)
      verifiers.push({ name: noteKeyName(key.kid), publicKey });
  }
  return verifiers;
}

export function parseCheckpointBody(text: string): Checkpoint | null {
  const lines = text.split("\n");
  const match = /^agent-gate\/audit\/(\d+)$/.exec(lines[0] ?? "");
  const root = Buffer.from(lines[2] ?? "", "base64");
  if (lines.length < 4 || lines.at(-1) !== "" || !match || !/^(0|[1-9]\d*)$/.test(lines[1] ?? "") || root.length !== 32)
    return null;
  if (root.toString("base64") !== lines[2]) return null;
  const size = Number(lines[1]);
  const installationId = Number(match[1]);
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(installationId)) return null;
  return { installationId, size, root: root.toString("hex") };
}

export type CheckpointCheck =
  { ok: true; checkpoint: Checkpoint; signedBy: string[]; otherSignatures: string[] } | { ok: false; reason: string };

/**
 * Check a checkpoint note against the app's published keys (and, when given,
 * other keys such as witnesses'): the checkpoint, or why not.
 */
export function verifyCheckpoint(
  note: string,
  keys: PublishedKeys,
  others: readonly NoteVerifier[] = [],
): CheckpointCheck {
  const app = noteVerifiers(keys);
  const opened = openNote(note, [...app, ...others]);
  if (!opened.ok)
    return opened.reason === "no signature by a known key"
      ? { ok: false, reason: "no signature by a published key" }
      : opened;
  const checkpoint = parseCheckpointBody(opened.text);
  if (!checkpoint) return { ok: false, reason: "the note's body is not an Agent Gate audit checkpoint" };
  const appNames = new Set(app.map((v) => v.name));
  const signedBy = opened.verifiedBy.filter((name) => appNames.has(name));
  if (signedBy.length === 0) return { ok: false, reason: "no signature by a published key" };
  return {
    ok: true,
    checkpoint,
    signedBy,
    otherSignatures: opened.verifiedBy.filter((name) => !appNames.has(name)),
  };
}

export interface StoredCheckpoint extends Checkpoint {
  note: string;
  created_at: Date;
}

/** The latest stored checkpoint of an installation, inside its tenant transaction. */
export async function latestCheckpoint(tx: Queryable, installationId: number): Promise<StoredCheckpoint | null> {
  const [row] = await tx.query<{ tree_size: number; root_hash: string; note: string; created_at: Date }>(
    `SELECT tree_size, root_hash, note, created_at FROM audit_checkpoints
      WHERE installation_id = $1 ORDER BY tree_size DESC LIMIT 1`,
    [installationId],
  );
  return row
    ? { installationId, size: Number(row.tree_size), root: row.root_hash, note: row.note, created_at: row.created_at }
    : null;
}

/** A stored checkpoint of exactly this size, if one was signed. */
export async function checkpointAt(
  tx: Queryable,
  installationId: number,
  size: number,
): Promise<StoredCheckpoint | null> {
  const [row] = await tx.query<{ tree_size: number; root_hash: string; note: string; created_at: Date }>(
    "SELECT tree_size, root_hash, note, created_at FROM audit_checkpoints WHERE installation_id = $1 AND tree_size = $2",
    [installationId, size],
  );
  return row
    ? { installationId, size: Number(row.tree_size), root: row.root_hash, note: row.note, created_at: row.created_at }
    : null;
}
