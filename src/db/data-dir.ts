import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { GateError } from "../errors.ts";

/*
 * The embedded database's files are its OS user's alone, as PostgreSQL keeps its own: the data directory (which
 * also holds the socket the CLI reaches the app through, and the lock) is 0700, and every file the process
 * creates from here on gets a umask of 077. A data directory other users can write is refused, naming it and
 * the `chmod` that fixes it; one owned by another user is refused too. Files an older version left open to
 * others (0666) are closed to them at open.
 */

const OTHERS_WRITE = 0o022;
const OTHERS_ANY = 0o077;

function refused(message: string): GateError {
  return new GateError("data_dir_insecure", message, { status: 503 });
}

/** Check and tighten the data directory, creating it (0700) when asked; throws a refusal the operator can act on. */
export function secureDataDir(dir: string, options: { create: boolean }): void {
  restrictUmask();
  let stat;
  try {
    stat = statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !options.create) throw error;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return;
  }
  if (!stat.isDirectory()) throw refused(`The embedded database's data directory ${dir} is not a directory.`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw refused(
      `The embedded database's data directory ${dir} belongs to another user (uid ${stat.uid}), not to the user running Agent Gate (uid ${uid}): ` +
        `run Agent Gate as its owner, or \`chown -R ${uid} ${dir}\`.`,
    );
  }
  if (stat.mode & OTHERS_WRITE) {
    throw refused(
      `The embedded database's data directory ${dir} can be written by other users (mode 0${(stat.mode & 0o777).toString(8)}): ` +
        `they could change the database under the app. Fix it with \`chmod 700 ${dir}\` (and check who changed it), then start again.`,
    );
  }
  if (stat.mode & OTHERS_ANY) chmodSync(dir, 0o700);
  closeToOthers(dir);
}

/** 077 for this process: the database's files, the socket and the lock are the user's alone. */
function restrictUmask(): void {
  try {
    process.umask(process.umask() | OTHERS_ANY);
  } catch {
    // Worker threads may not change the umask; every path here also sets modes itself.
  }
}

/**
 * Entries under the data dir that others may read or write are closed to them (sockets and links left as they
 * are). Also run once PGlite has opened it: unpacking a data dir (the build's template) chmods each file to the
 * mode it had in the archive, past the umask.
 */
export function closeToOthers(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const mode = lstatSync(path).mode;
      if (mode & OTHERS_ANY) chmodSync(path, 0o700);
      closeToOthers(path);
    } else if (entry.isFile()) {
      const mode = lstatSync(path).mode;
      if (mode & OTHERS_ANY) chmodSync(path, mode & 0o700);
    }
  }
}
