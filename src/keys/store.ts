import nacl from "tweetnacl";
import type { Database, Queryable } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { newKeyId, open, seal, type Keyring, type SealBinding } from "../crypto/keyring.ts";
import { fromBase64url, toBase64url } from "../crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../crypto/signer.ts";

export { reencryptSealed, SEALED_COLUMNS, type SealedColumn } from "./reencrypt.ts";

/** Advisory lock taken by every process creating or rotating a signing key. */
const SIGNING_KEY_LOCK = 7_413_010;

export const SIGNING_KEY_PURPOSE = "signing_key";

interface SigningKeyRow {
  kid: string;
  public_key: string;
  sealed_secret: string;
  status: "current" | "retired";
  created_at: Date;
}

/** Signing keys belong to no installation: sealed with installation 0, bound to their kid. */
export function signingKeyBinding(kid: string): SealBinding {
  return { purpose: SIGNING_KEY_PURPOSE, rowId: kid, installationId: 0 };
}

function toSigner(keyring: Keyring, row: SigningKeyRow): Signer {
  const secretKey = open(keyring, signingKeyBinding(row.kid), row.sealed_secret);
  const publicKey = fromBase64url(row.public_key);
  if (
    secretKey.length !== nacl.sign.secretKeyLength ||
    !publicKey ||
    toBase64url(secretKey.subarray(32)) !== row.public_key
  ) {
    throw new GateError("sealed_value_mismatch", `The stored signing key ${row.kid} does not match its public key.`);
  }
  return { keyId: row.kid, secretKey, publicKey };
}

async function selectCurrent(tx: Queryable): Promise<SigningKeyRow | undefined> {
  const [row] = await tx.query<SigningKeyRow & Record<string, unknown>>(
    "SELECT kid, public_key, sealed_secret, status, created_at FROM signing_keys WHERE status = 'current'",
  );
  return row;
}

async function insertCurrent(tx: Queryable, keyring: Keyring, now: Date): Promise<SigningKeyRow> {
  const pair = nacl.sign.keyPair();
  const row: SigningKeyRow = {
    kid: newKeyId(now, "sk"),
    public_key: toBase64url(pair.publicKey),
    sealed_secret: "",
    status: "current",
    created_at: now,
  };
  row.sealed_secret = seal(keyring, signingKeyBinding(row.kid), pair.secretKey);
  await tx.query(
    "INSERT INTO signing_keys (kid, public_key, sealed_secret, status, created_at) VALUES ($1, $2, $3, 'current', $4)",
    [row.kid, row.public_key, row.sealed_secret, now],
  );
  return row;
}

/** The key that signs new receipts; the first one is created when none exists. */
export async function currentSigner(db: Database, keyring: Keyring, now: Date): Promise<Signer> {
  const existing = await selectCurrent(db);
  if (existing) return toSigner(keyring, existing);
  const row = await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SIGNING_KEY_LOCK]);
    return (await selectCurrent(tx)) ?? insertCurrent(tx, keyring, now);
  });
  return toSigner(keyring, row);
}

/** Make a new current signing key; the old one is retired and stays published. */
export async function rotateSigningKey(db: Database, keyring: Keyring, now: Date): Promise<Signer> {
  const row = await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SIGNING_KEY_LOCK]);
    await tx.query("UPDATE signing_keys SET status = 'retired' WHERE status = 'current'");
    return insertCurrent(tx, keyring, now);
  });
  return toSigner(keyring, row);
}

/** Every public key, current first then newest retired, as keys.json serves them. */
export async function publishedKeys(db: Queryable): Promise<PublishedKeys> {
  const rows = await db.query<SigningKeyRow & Record<string, unknown>>(
    "SELECT kid, public_key, status, created_at FROM signing_keys ORDER BY status = 'current' DESC, created_at DESC, kid",
  );
  return {
    keys: rows.map((row) => ({
      kid: row.kid,
      alg: "Ed25519" as const,
      public_key: row.public_key,
      status: row.status,
      created_at: row.created_at.toISOString(),
    })),
  };
}
