import type { Database, Queryable } from "../db/database.ts";

/**
 * The witnesses of an installation's audit log and their sends (table
 * witnesses, its own durable queue) and the cosignatures they answered
 * (audit_cosignatures). Every statement on these tables is here.
 *
 * A witness is one of two kinds: a C2SP tlog-witness (url and vkey set), or a
 * branch of a repository of the installation (repository, repository_id and
 * branch set), where each checkpoint is committed as a file.
 */
export interface Witness {
  installation_id: number;
  name: string;
  url: string | null;
  vkey: string | null;
  repository: string | null;
  repository_id: number | null;
  branch: string | null;
  witnessed_commit: string | null;
  created_at: Date;
  target_size: number;
  witnessed_size: number;
  attempts: number;
  run_after: Date | null;
  last_error: string | null;
  refused_at: Date | null;
  refused_reason: string | null;
}

export type WitnessKind = "url" | "repository";

/** What an admin names when adding a witness: an endpoint and its key, or a repository's branch. */
export type NewWitness =
  | { name: string; url: string; vkey: string }
  | { name: string; repository: string; repositoryId: number; branch: string };

type WitnessRow = Omit<Witness, "installation_id" | "target_size" | "witnessed_size" | "repository_id"> & {
  installation_id: number | string;
  repository_id: number | string | null;
  target_size: number | string;
  witnessed_size: number | string;
};

const COLUMNS =
  "installation_id, name, url, vkey, repository, repository_id, branch, witnessed_commit, created_at, target_size, witnessed_size, attempts, run_after, last_error, refused_at, refused_reason";

function witness(row: WitnessRow): Witness {
  return {
    ...row,
    installation_id: Number(row.installation_id),
    repository_id: row.repository_id === null ? null : Number(row.repository_id),
    target_size: Number(row.target_size),
    witnessed_size: Number(row.witnessed_size),
  };
}

/**
 * Add a witness, due for the latest checkpoint at once; false when the name is
 * taken (or, for a repository witness, another witness holds that branch).
 */
export async function insertWitness(tx: Queryable, installationId: number, w: NewWitness, now: Date): Promise<boolean> {
  const byUrl = "url" in w;
  const rows = await tx.query(
    `INSERT INTO witnesses (installation_id, name, url, vkey, repository, repository_id, branch, created_at, target_size)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
             COALESCE((SELECT max(tree_size) FROM audit_checkpoints WHERE installation_id = $1), 0))
     ON CONFLICT DO NOTHING RETURNING name`,
    [
      installationId,
      w.name,
      byUrl ? w.url : null,
      byUrl ? w.vkey : null,
      byUrl ? null : w.repository,
      byUrl ? null : w.repositoryId,
      byUrl ? null : w.branch,
      now,
    ],
  );
  return rows.length === 1;
}

export async function deleteWitness(tx: Queryable, installationId: number, name: string): Promise<boolean> {
  const rows = await tx.query("DELETE FROM witnesses WHERE installation_id = $1 AND name = $2 RETURNING name", [
    installationId,
    name,
  ]);
  return rows.length === 1;
}

export async function listWitnesses(tx: Queryable, installationId: number): Promise<Witness[]> {
  const rows = await tx.query<WitnessRow>(`SELECT ${COLUMNS} FROM witnesses WHERE installation_id = $1 ORDER BY name`, [
    installationId,
  ]);
  return rows.map(witness);
}

/** A checkpoint of `size` was signed: every witness of the installation is due for it. */
export async function raiseWitnessTargets(tx: Queryable, installationId: number, size: number): Promise<void> {
  await tx.query("UPDATE witnesses SET target_size = GREATEST(target_size, $2) WHERE installation_id = $1", [
    installationId,
    size,
  ]);
}

/**
 * Claim the witnesses of one kind behind their target whose backoff has
 * passed, across installations (SKIP LOCKED, with a claim that lapses should a
 * replica die).
 */
export async function claimWitnessSends(
  db: Database,
  now: Date,
  until: Date,
  limit: number,
  kind: WitnessKind = "url",
): Promise<Witness[]> {
  const rows = await db.transaction((tx) =>
    tx.query<WitnessRow>(
      `UPDATE witnesses SET claimed_until = $2
        WHERE (installation_id, name) IN (
          SELECT installation_id, name FROM witnesses
           WHERE refused_at IS NULL AND witnessed_size < target_size AND (repository_id IS NOT NULL) = $4
             AND (run_after IS NULL OR run_after <= $1) AND (claimed_until IS NULL OR claimed_until <= $1)
           ORDER BY installation_id, name LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [now, until, limit, kind === "repository"],
    ),
  );
  return rows.map(witness);
}

/** The witness cosigned the checkpoint of `size`: its signature lines are kept. */
export async function recordCosigned(
  tx: Queryable,
  installationId: number,
  name: string,
  size: number,
  signatures: string,
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO audit_cosignatures (installation_id, witness, tree_size, signatures, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [installationId, name, size, signatures, now],
  );
  await tx.query(
    `UPDATE witnesses SET witnessed_size = GREATEST(witnessed_size, $3), attempts = 0, run_after = NULL, claimed_until = NULL, last_error = NULL
      WHERE installation_id = $1 AND name = $2`,
    [installationId, name, size],
  );
}

/** The checkpoint of `size` is on the repository witness's branch, committed in `commit` (null: found there already). */
export async function recordCommitted(
  tx: Queryable,
  installationId: number,
  name: string,
  size: number,
  commit: string | null,
): Promise<void> {
  await tx.query(
    `UPDATE witnesses SET witnessed_size = GREATEST(witnessed_size, $3), witnessed_commit = COALESCE($4, witnessed_commit), attempts = 0, run_after = NULL,
            claimed_until = NULL, last_error = NULL
      WHERE installation_id = $1 AND name = $2`,
    [installationId, name, size, commit],
  );
}

/** The witness holds another size than we thought (a 409): the next send proves consistency from it. */
export async function recordWitnessSize(
  tx: Queryable,
  installationId: number,
  name: string,
  size: number,
): Promise<void> {
  await tx.query(
    "UPDATE witnesses SET witnessed_size = $3, claimed_until = NULL, run_after = NULL WHERE installation_id = $1 AND name = $2",
    [installationId, name, size],
  );
}

/** The send failed (down, timed out, an unexpected answer): tried again after `runAfter`. */
export async function recordSendFailed(
  tx: Queryable,
  installationId: number,
  name: string,
  error: string,
  runAfter: Date,
): Promise<void> {
  await tx.query(
    `UPDATE witnesses SET attempts = attempts + 1, run_after = $4, last_error = $3, claimed_until = NULL
      WHERE installation_id = $1 AND name = $2`,
    [installationId, name, error.slice(0, 500), runAfter],
  );
}

/** The witness refused a checkpoint as inconsistent with what it holds: nothing more is sent to it. */
export async function recordRefused(
  tx: Queryable,
  installationId: number,
  name: string,
  reason: string,
  now: Date,
): Promise<void> {
  await tx.query(
    `UPDATE witnesses SET refused_at = $4, refused_reason = $3, claimed_until = NULL
      WHERE installation_id = $1 AND name = $2`,
    [installationId, name, reason.slice(0, 500), now],
  );
}

/** Witnesses that refused a checkpoint, across installations (for `doctor` and the metric). */
export async function refusedWitnesses(
  db: Database,
): Promise<{ installation_id: number; name: string; refused_reason: string | null; refused_at: Date }[]> {
  const rows = await db.query<{
    installation_id: number | string;
    name: string;
    refused_reason: string | null;
    refused_at: Date;
  }>(
    "SELECT installation_id, name, refused_reason, refused_at FROM witnesses WHERE refused_at IS NOT NULL ORDER BY refused_at DESC LIMIT 20",
  );
  return rows.map((r) => ({ ...r, installation_id: Number(r.installation_id) }));
}

/** The cosignature lines kept for the checkpoint of `size`. */
export async function cosignaturesAt(tx: Queryable, installationId: number, size: number): Promise<string[]> {
  const rows = await tx.query<{ signatures: string }>(
    "SELECT signatures FROM audit_cosignatures WHERE installation_id = $1 AND tree_size = $2 ORDER BY witness",
    [installationId, size],
  );
  return rows.map((r) => r.signatures);
}
