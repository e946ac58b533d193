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

/** The branch a repository witness commits to when none is named. */
export const DEFAULT_WITNESS_BRANCH = "agent-gate-checkpoints";

const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

/** A repository as owner/name. */
export function checkWitnessRepository(text: string): string {
  if (!REPOSITORY.test(text) || text.endsWith("/.") || text.endsWith("/.."))
    throw new ValidationError([{ field: "--repo", message: "must be a repository as owner/name" }]);
  return text;
}

/** A branch name git and GitHub accept (a conservative subset: no '..', '//', trailing '/', '.' or '.lock'). */
export function checkWitnessBranch(text: string): string {
  if (!BRANCH.test(text) || /\.\.|\/\/|\/\.|[/.]$|\.lock$/.test(text))
    throw new ValidationError([
      {
        field: "--branch",
        message: "must be a branch name: letters, digits, '.', '_', '-' and '/', starting with a letter or digit",
      },
    ]);
  return text;
}

function checkName(name: string): void {
  if (!NAME.test(name))
    throw new ValidationError([
      { field: "name", message: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit" },
    ]);
}

export async function addWitness(
  db: Database,
  installationId: number,
  w: { name: string; url: string; vkey: string },
  actor: string,
  now: Date,
): Promise<void> {
  checkName(w.name);
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

/**
 * Add a repository witness: each checkpoint is committed to `branch` of
 * `repository`, which the caller found among the installation's own
 * repositories (`repositoryId` is what its narrowed token is asked for).
 */
export async function addRepositoryWitness(
  db: Database,
  installationId: number,
  w: { name: string; repository: string; repositoryId: number; branch: string },
  actor: string,
  now: Date,
): Promise<void> {
  checkName(w.name);
  checkWitnessRepository(w.repository);
  checkWitnessBranch(w.branch);
  await db.tenant(installationId, async (tx) => {
    if (!(await insertWitness(tx, installationId, w, now))) {
      throw new ValidationError([
        {
          field: "name",
          message: `a witness named ${w.name}, or one committing to ${w.repository} on branch ${w.branch}, already exists; remove it first`,
        },
      ]);
    }
    await appendAudit(
      tx,
      installationId,
      {
        action: "witness.added",
        outcome: "ok",
        actor,
        data: { witness: w.name, repository: w.repository, branch: w.branch },
      },
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
