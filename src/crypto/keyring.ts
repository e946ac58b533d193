import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import nacl from "tweetnacl";
import { canonicalJson } from "../canonical-json.ts";
import { GateError, ValidationError } from "../errors.ts";
import { fromBase64, fromBase64url, toBase64url } from "./base64url.ts";

/**
 * The keyring for encryption at rest, from AGENT_GATE_KEYS (`kid:base64key,…`).
 * The first entry is current: new values are sealed under it; every entry opens.
 */
export interface Keyring {
  current: { id: string; key: Uint8Array };
  keys: Map<string, Uint8Array>;
  /** Where a key this keyring lacks may be found, and how to add it (the embedded database's keyring file). */
  missingKeyHint?: string;
}

/** What a sealed value belongs to; sealed inside the plaintext and checked on open. */
export interface SealBinding {
  purpose: string;
  rowId: string;
  installationId: number;
}

const FIELD = "AGENT_GATE_KEYS";
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const VERSION = "v1";

/** Parse `kid:base64key,kid2:base64key`. Errors name the entry, never its key material. */
export function parseKeyring(text: string): Keyring {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) {
    throw new ValidationError([{ field: FIELD, message: "holds no key; run `agent-gate keys generate` for one" }]);
  }
  const keys = new Map<string, Uint8Array>();
  const issues: { field: string; message: string }[] = [];
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(":");
    const kid = colon < 0 ? "" : entry.slice(0, colon);
    if (!KID.test(kid)) {
      issues.push({
        field: FIELD,
        message: `${where} must be kid:base64key with a kid of 1-32 letters, digits, _ or -`,
      });
      return;
    }
    const key = fromBase64(entry.slice(colon + 1));
    if (!key || key.length !== nacl.secretbox.keyLength) {
      issues.push({ field: FIELD, message: `${where} (${kid}): the key must be 32 bytes in base64` });
      return;
    }
    if (keys.has(kid)) {
      issues.push({ field: FIELD, message: `${where}: key id ${kid} appears twice` });
      return;
    }
    keys.set(kid, key);
  });
  if (issues.length > 0) throw new ValidationError(issues);
  const [id, key] = keys.entries().next().value as [string, Uint8Array];
  return { current: { id, key }, keys };
}

/** The keyring as AGENT_GATE_KEYS text, current key first. */
export function formatKeyring(keyring: Keyring): string {
  const rest = [...keyring.keys].filter(([id]) => id !== keyring.current.id);
  return [[keyring.current.id, keyring.current.key] as const, ...rest]
    .map(([id, key]) => `${id}:${Buffer.from(key).toString("base64")}`)
    .join(",");
}

/** A fresh `kid:base64key` entry to prepend to AGENT_GATE_KEYS. */
export function generateKeyEntry(kid: string): string {
  if (!KID.test(kid)) {
    throw new ValidationError([{ field: "kid", message: "must be 1-32 letters, digits, _ or -" }]);
  }
  return `${kid}:${Buffer.from(nacl.randomBytes(nacl.secretbox.keyLength)).toString("base64")}`;
}

/** A key id that sorts by creation date, e.g. `k20261123-3fa9c1`. */
export function newKeyId(now: Date, prefix = "k"): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, "");
  return `${prefix}${day}-${Buffer.from(nacl.randomBytes(3)).toString("hex")}`;
}

function header(binding: SealBinding): Uint8Array {
  // Canonical JSON never holds a raw newline, so the first 0x0a ends the header.
  const json = canonicalJson({ i: binding.installationId, p: binding.purpose, r: binding.rowId });
  return new TextEncoder().encode(`${json}\n`);
}

/** Seal `plaintext` for one row: `v1.<kid>.<base64url(nonce || box)>`. */
export function seal(keyring: Keyring, binding: SealBinding, plaintext: Uint8Array | string): string {
  const body = typeof plaintext === "string" ? new TextEncoder().encode(plaintext) : plaintext;
  const head = header(binding);
  const message = new Uint8Array(head.length + body.length);
  message.set(head);
  message.set(body, head.length);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(message, nonce, keyring.current.key);
  const out = new Uint8Array(nonce.length + box.length);
  out.set(nonce);
  out.set(box, nonce.length);
  return `${VERSION}.${keyring.current.id}.${toBase64url(out)}`;
}

/** The key id a sealed value names, or null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const [version, kid, body, extra] = sealed.split(".");
  if (version !== VERSION || !kid || !KID.test(kid) || body === undefined || extra !== undefined) return null;
  return kid;
}

function mismatch(message: string): GateError {
  return new GateError("sealed_value_mismatch", message);
}

/** Open a sealed value, refusing one whose key is unknown, box fails, or binding differs. */
export function open(keyring: Keyring, binding: SealBinding, sealed: string): Uint8Array {
  const kid = sealedKeyId(sealed);
  const raw = kid === null ? null : fromBase64url(sealed.split(".")[2] ?? "");
  if (kid === null || raw === null || raw.length < nacl.secretbox.nonceLength + nacl.secretbox.overheadLength) {
    throw mismatch(`The sealed ${binding.purpose} of ${binding.rowId} is not a v1 sealed value.`);
  }
  const key = keyring.keys.get(kid);
  if (!key) {
    throw mismatch(
      `The sealed ${binding.purpose} of ${binding.rowId} uses key ${kid}, which is not in AGENT_GATE_KEYS; ${keyring.missingKeyHint ?? "add that key back to the keyring."}`,
    );
  }
  const message = nacl.secretbox.open(
    raw.subarray(nacl.secretbox.nonceLength),
    raw.subarray(0, nacl.secretbox.nonceLength),
    key,
  );
  if (!message) throw mismatch(`The sealed ${binding.purpose} of ${binding.rowId} failed to decrypt under key ${kid}.`);
  const expected = header(binding);
  const bound = message.length >= expected.length && expected.every((byte, i) => message[i] === byte);
  if (!bound) {
    throw mismatch(`The sealed ${binding.purpose} of ${binding.rowId} belongs to another row or installation.`);
  }
  return message.slice(expected.length);
}

export function openText(keyring: Keyring, binding: SealBinding, sealed: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(open(keyring, binding, sealed));
}

export interface ResolveKeyringOptions {
  dataDir: string;
  /** True when storage is the embedded PGlite (no DATABASE_URL). */
  embedded: boolean;
  log?: (msg: string) => void;
  /** Dates the id of a created key; defaults to the clock. */
  now?: Date;
}

/**
 * The keyring from AGENT_GATE_KEYS; for the embedded database without it, a
 * keyring file beside the data, created on first use. With DATABASE_URL set
 * and no keyring, refuse: replicas must share one configured keyring.
 */
export function resolveKeyring(keys: string | undefined, opts: ResolveKeyringOptions): Keyring {
  const file = resolve(join(opts.dataDir, "keyring"));
  if (keys) {
    const keyring = parseKeyring(keys);
    if (!opts.embedded || !existsSync(file)) return keyring;
    // AGENT_GATE_KEYS replaces the embedded database's keyring file: say so wherever a key of the file is missing.
    const fromFile = readKeyringFile(file);
    const left = [...fromFile.keys.keys()].filter((id) => !keyring.keys.has(id));
    if (left.length === 0) return keyring;
    const hint =
      `the embedded database's key ${left.join(", ")} is in ${file}, and AGENT_GATE_KEYS replaces that file. ` +
      `To keep both keys, set AGENT_GATE_KEYS to your key followed by the file's line (current key first: AGENT_GATE_KEYS=<your key>,<the line in ${file}>); ` +
      `or unset AGENT_GATE_KEYS to use the file alone.`;
    opts.log?.(`AGENT_GATE_KEYS is set and replaces ${file}: ${hint}`);
    return { ...keyring, missingKeyHint: hint };
  }
  if (!opts.embedded) {
    throw new GateError(
      "keyring_missing",
      "AGENT_GATE_KEYS is not set. With DATABASE_URL, set AGENT_GATE_KEYS=kid:base64key (32 bytes); " +
        "generate one with `agent-gate keys generate` and give every replica the same value.",
    );
  }
  if (existsSync(file)) {
    const keyring = readKeyringFile(file);
    opts.log?.(`using the keyring in ${file} (set AGENT_GATE_KEYS to manage it yourself)`);
    return keyring;
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const entry = generateKeyEntry(newKeyId(opts.now ?? new Date()));
  try {
    writeFileSync(file, `${entry}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readKeyringFile(file);
    throw error;
  }
  chmodSync(file, 0o600);
  opts.log?.(`created a keyring for the embedded database in ${file}; back it up with the data`);
  return parseKeyring(entry);
}

function readKeyringFile(file: string): Keyring {
  try {
    return parseKeyring(readFileSync(file, "utf8"));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new GateError(
      "keyring_invalid",
      `The keyring file ${file} is not valid (${error.message}); restore it from backup.`,
      {
        cause: error,
      },
    );
  }
}
