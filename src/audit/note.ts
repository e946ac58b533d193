import { createHash } from "node:crypto";
import nacl from "tweetnacl";

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys:
 *
 *   <text, ending in a newline>
 *   <blank line>
 *   — <key name> <base64(4-byte key id || signature)>
 *
 * The key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key),
 * 0x01 being the Ed25519 signature type.
 */
const ED25519 = 0x01;
/** C2SP tlog-cosignature: a witness's timestamped cosignature of a checkpoint (https://c2sp.org/tlog-cosignature). */
export const COSIGNATURE_V1 = 0x04;
const DASH = "\u2014";

export interface NoteVerifier {
  name: string;
  publicKey: Uint8Array;
  /** the signature type: Ed25519 (0x01, the default) or cosignature/v1 (0x04) */
  type?: number;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export function noteKeyId(name: string, publicKey: Uint8Array, type: number = ED25519): Buffer {
  return createHash("sha256").update(`${name}\n`).update(Uint8Array.of(type)).update(publicKey).digest().subarray(0, 4);
}

/** The verifier key in the spec's text form: <name>+<hex key id>+<base64(0x01 || public key)>. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  return `${name}+${noteKeyId(name, publicKey).toString("hex")}+${Buffer.concat([Buffer.of(ED25519), publicKey]).toString("base64")}`;
}

export function parseVerifierKey(text: string): NoteVerifier | null {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!match) return null;
  const blob = Buffer.from(match[3]!, "base64");
  const type = blob[0];
  if (blob.length !== 33 || (type !== ED25519 && type !== COSIGNATURE_V1)) return null;
  const publicKey = blob.subarray(1);
  if (noteKeyId(match[1]!, publicKey, type).toString("hex") !== match[2]) return null;
  return { name: match[1]!, publicKey, type };
}

/** The signature line of `text` (which ends in a newline) by the named key. */
export function signatureLine(text: string, name: string, secretKey: Uint8Array, publicKey: Uint8Array): string {
  const signature = nacl.sign.detached(new TextEncoder().encode(text), secretKey);
  return `${DASH} ${name} ${Buffer.concat([noteKeyId(name, publicKey), Buffer.from(signature)]).toString("base64")}\n`;
}

export function signNote(text: string, name: string, secretKey: Uint8Array, publicKey: Uint8Array): string {
  if (!text.endsWith("\n") || text.includes("\n\n"))
    throw new Error("a note's text ends in a newline and has no blank line");
  return `${text}\n${signatureLine(text, name, secretKey, publicKey)}`;
}

export type OpenedNote =
  { ok: true; text: string; verifiedBy: string[]; signatures: NoteSignature[] } | { ok: false; reason: string };

/**
 * Split a note into its text and signatures, and check every signature by a
 * known key (matched on name and key id). Signatures by unknown keys are kept
 * but not counted; one failing signature by a known key refuses the note.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) return { ok: false, reason: "not a signed note" };
  const text = note.slice(0, split + 1);
  const message = new TextEncoder().encode(text);
  const signatures: NoteSignature[] = [];
  const verifiedBy: string[] = [];
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const sig = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!sig) return { ok: false, reason: "malformed signature line" };
    const blob = Buffer.from(sig[2]!, "base64");
    if (blob.length < 5) return { ok: false, reason: "malformed signature line" };
    const entry = { name: sig[1]!, keyId: blob.subarray(0, 4), signature: blob.subarray(4) };
    signatures.push(entry);
    const key = verifiers.find(
      (v) => v.name === entry.name && noteKeyId(v.name, v.publicKey, v.type).equals(entry.keyId),
    );
    if (!key) continue;
    if (!signatureVerifies(key, text, message, entry.signature))
      return { ok: false, reason: `signature by ${entry.name} does not verify` };
    verifiedBy.push(entry.name);
  }
  if (verifiedBy.length === 0) return { ok: false, reason: "no signature by a known key" };
  return { ok: true, text, verifiedBy, signatures };
}

/**
 * An Ed25519 note signature signs the text; a cosignature/v1 is an 8-byte
 * big-endian timestamp and a signature over
 * "cosignature/v1\ntime <timestamp>\n" followed by the text.
 */
function signatureVerifies(key: NoteVerifier, text: string, message: Uint8Array, signature: Buffer): boolean {
  if ((key.type ?? ED25519) === ED25519)
    return signature.length === 64 && nacl.sign.detached.verify(message, signature, key.publicKey);
  if (signature.length !== 72) return false;
  const time = signature.readBigUInt64BE(0);
  const signed = new TextEncoder().encode(`cosignature/v1\ntime ${time}\n${text}`);
  return nacl.sign.detached.verify(signed, signature.subarray(8), key.publicKey);
}
