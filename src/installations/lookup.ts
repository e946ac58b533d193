import type { Database } from "../db/database.ts";
import { NotFoundError, ValidationError } from "../errors.ts";

/** An installation named on the command line by its id or its account login (owner connection). */
export async function resolveInstallation(db: Database, text: string): Promise<number> {
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    if (!Number.isSafeInteger(id)) throw new ValidationError([{ field: "--installation", message: "is not a valid installation id" }]);
    return id;
  }
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(text)) {
    throw new ValidationError([{ field: "--installation", message: "must be an installation id or an account login" }]);
  }
  const rows = await db.query<{ id: number | string }>("SELECT id FROM installations WHERE lower(account) = lower($1) ORDER BY id", [text]);
  if (rows.length === 0) throw new NotFoundError(`An installation for the account ${text}`);
  if (rows.length > 1) throw new ValidationError([{ field: "--installation", message: `${text} has several installations: give the id` }]);
  return Number(rows[0]!.id);
}
