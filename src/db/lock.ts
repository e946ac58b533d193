import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The file that says which process has the embedded database open. */
export const LOCK_FILE = "agent-gate.lock";

export interface LockHolder {
  pid: number;
  /** The unix socket it serves the database on, when it is the app. */
  socket?: string;
}

export type LockResult = { taken: true; release: () => void } | { taken: false; holder: LockHolder };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>;
    return typeof parsed.pid === "number" && Number.isSafeInteger(parsed.pid) ? (parsed as LockHolder) : null;
  } catch {
    return null;
  }
}

/**
 * Take the data directory's lock for this process: created exclusively, holding our pid (and socket). A lock
 * whose process is gone, or that cannot be read, is stale and taken over; a live holder is returned instead.
 */
export function takeLock(dataDir: string, holder: LockHolder): LockResult {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, JSON.stringify(holder), { flag: "wx", mode: 0o600 });
      return {
        taken: true,
        release: () => {
          if (readHolder(file)?.pid === holder.pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const current = readHolder(file);
    if (current && current.pid !== process.pid && alive(current.pid)) return { taken: false, holder: current };
    rmSync(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: other processes keep taking it`);
}
