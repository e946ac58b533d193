import type { Database } from "../db/database.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { appendAudit } from "./log.ts";
import { parseVerifierKey } from "./note.ts";
import { deleteWitness, insertWitness, listWitnesses, type Witness } from "./witness-store.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** A tlog-witness URL: https (http only on loopback), no credentials, query or fragment. */
export function checkWitnessUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError([
      { field: "--url", message: "must be the witness's https URL (the prefix before /add-checkpoint)" },
    ]);
  }
  const plainLoopback = url.protocol === "http:" && LOOPBACK.has(url.hostname);
  if (url.protocol !== "https:" && !plainLoopback)
    throw new ValidationError([{ field: "--url", message: "must be https (http only on loopback)" }]);
  if (url.username || url.password || url.search || url.hash) {
    throw new ValidationError([{ field: "--url", message: "must carry no user, password, query or fragment" }]);
  }
  return url.toString().replace(/\/+$/, "");
}

export async function addWitness(
  db: Database,
  installationId: number,
  w: { name: string; url: string; vkey: string },
  actor: string,
  now: Date,
): Promise<void> {
  if (!NAME.test(w.name))
    throw new ValidationError([
      { field: "name", message: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit" },
    ]);
  const url = checkWitnessUrl(w.url);
  const key = parseVerifierKey(w.vkey);
  if (!key)
    throw new ValidationError([
      {
        field: "--key",
        message: "must be the witness's verifier key in signed-note form: <name>+<hex key id>+<base64 key>",
      },
    ]);
  await db.tenant(installationId, async (tx) => {
    if (!(await insertWitness(tx, installationId, { name: w.name, url, vkey: w.vkey.trim() }, now))) {
      throw new ValidationError([
        { field: "name", message: `a witness named ${w.name} already exists; remove it first` },
      ]);
    }
    await appendAudit(
      tx,
      installationId,
      { action: "witness.added", outcome: "ok", actor, data: { witness: w.name, url, key_name: key.name } },
      now,
    );
  });
}

export async function removeWitness(
  db: Database,
  installationId: number,
  name: string,
  actor: string,
  now: Date,
): Promise<void> {
  await db.tenant(installationId, async (tx) => {
    if (!(await deleteWitness(tx, installationId, name))) throw new NotFoundError(`Witness ${name.slice(0, 64)}`);
    await appendAudit(
      tx,
      installationId,
      { action: "witness.removed", outcome: "ok", actor, data: { witness: name } },
      now,
    );
  });
}

export function witnessesOf(db: Database, installationId: number): Promise<Witness[]> {
  return db.tenant(installationId, (tx) => listWitnesses(tx, installationId));
}
