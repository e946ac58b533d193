import type { Database } from "../db/database.ts";
import { ValidationError } from "../errors.ts";
import { installationsOfAccount } from "../installations/directory.ts";

/** What `--installation` takes, as the help of every command says it. */
export const INSTALLATION_ARG = "<id-or-login>";

const ID = /^[1-9]\d{0,15}$/;
/** A GitHub user or organization login: letters, digits and single hyphens, at most 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

/**
 * `--installation` names an installation by its numeric id or by the login of
 * the account it is installed on (`agent-gate installation list` shows both).
 * A login is looked up among the live installations the app recorded; none,
 * or several, is refused naming the value.
 */
export async function resolveInstallation(db: Database, text: string): Promise<number> {
  checkInstallationForm(text);
  const value = text.trim();
  const id = installationIdOf(value);
  if (id !== null) return id;
  const ids = await installationsOfAccount(db, value);
  if (ids.length === 1) return ids[0]!;
  const message =
    ids.length === 0
      ? `no installation on the account ${value} is recorded; \`agent-gate installation list\` shows the installations the app has seen`
      : `the account ${value} has ${ids.length} installations (${ids.join(", ")}); give the id`;
  throw new ValidationError([{ field: "--installation", message }]);
}

/** Checks the form early, before a database is opened, so a typo is a usage error at once. */
export function checkInstallationForm(text: string): void {
  if (installationIdOf(text) === null && !LOGIN.test(text.trim())) {
    throw new ValidationError([
      {
        field: "--installation",
        message: "must be an installation id (a number) or the account login it is installed on",
      },
    ]);
  }
}

/**
 * The installation id a text names, or null when it names none: a positive
 * whole number without leading zeros that JavaScript holds exactly. The one
 * pattern every command parses an installation id with.
 */
export function installationIdOf(text: string): number | null {
  const value = text.trim();
  return ID.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;
}
