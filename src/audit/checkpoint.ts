import { createHash } from "node:crypto";
import nacl from "tweetnacl";
import type { Queryable } from "../db/database.ts";
import { fromBase64url } from "../crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../crypto/signer.ts";
import { GENESIS_HASH } from "./chain.ts";

/**
 * A signed checkpoint of an installation's chain head in the C2SP signed-note
 * format (https://c2sp.org/signed-note), with a tlog-checkpoint-shaped body:
 *
 *   agent-gate/audit/<installation id>
 *   <seq of the head>
 *   <base64 of the head's 32-byte hash>
 *
 *   — agent-gate/<kid> <base64(4-byte key id || Ed25519 signature)>
 *
 * The "root hash" is the head of a hash chain, not of a Merkle tree.
 */
export interface Checkpoint {
  installationId: number;
  seq: number;
  hash: string;
}

const ORIGIN_PREFIX = "agent-gate/audit/";
const ED25519 = 0x01;

function keyName(kid: string): string {
  return `agent-gate/${kid}`;
}

/** C2SP key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key). */
function keyId(name: string, publicKey: Uint8Array): Buffer {
  return createHash("sha256")
    .update(`${name}\n`)
    .update(Uint8Array.of(ED25519))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

export function noteBody(checkpoint: Checkpoint): string {
  return `${ORIGIN_PREFIX}${checkpoint.installationId}\n${checkpoint.seq}\n${Buffer.from(checkpoint.hash, "hex").toString("base64")}\n`;
}

export function signCheckpoint(checkpoint: Checkpoint, signer: Signer): string {
  const body = noteBody(checkpoint);
  const name = keyName(signer.keyId);
  const signature = nacl.sign.detached(new TextEncoder().encode(body), signer.secretKey);
  const blob = Buffer.concat([keyId(name, signer.publicKey), Buffer.from(signature)]).toString("base64");
  return `${body}\n\u2014 ${name} ${blob}\n`;
}

/** The current head of an installation's chain, signed; inside its tenant transaction. */
export async function chainCheckpoint(tx: Queryable, installationId: number, signer: Signer): Promise<string> {
  const [head] = await tx.query<{ seq: number; hash: string }>(
    "SELECT seq, hash FROM audit_heads WHERE installation_id = $1",
    [installationId],
  );
  return signCheckpoint({ installationId, seq: head?.seq ?? 0, hash: head?.hash ?? GENESIS_HASH }, signer);
}

/** Check a checkpoint note against the published keys: the checkpoint, or why not. */
export function verifyCheckpoint(note: string, keys: PublishedKeys): { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string } {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) return { ok: false, reason: "not a signed note" };
  const body = note.slice(0, split + 1);
  const lines = body.split("\n");
  const match = /^agent-gate\/audit\/(\d+)$/.exec(lines[0] ?? "");
  const seq = Number(lines[1]);
  const hash = Buffer.from(lines[2] ?? "", "base64");
  if (lines.length !== 4 || !match || !/^\d+$/.test(lines[1] ?? "") || hash.length !== 32) {
    return { ok: false, reason: "the note's body is not an Agent Gate audit checkpoint" };
  }
  const message = new TextEncoder().encode(body);
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const sig = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!sig) return { ok: false, reason: "malformed signature line" };
    const key = keys.keys.find((candidate) => keyName(candidate.kid) === sig[1]);
    const publicKey = key ? fromBase64url(key.public_key) : null;
    if (!key || !publicKey || publicKey.length !== 32) continue;
    const blob = Buffer.from(sig[2]!, "base64");
    if (blob.length !== 68 || !blob.subarray(0, 4).equals(keyId(sig[1]!, publicKey))) continue;
    if (nacl.sign.detached.verify(message, blob.subarray(4), publicKey)) {
      return { ok: true, checkpoint: { installationId: Number(match[1]), seq, hash: hash.toString("hex") } };
    }
    return { ok: false, reason: `signature by ${sig[1]} does not verify` };
  }
  return { ok: false, reason: "no signature by a published key" };
}
