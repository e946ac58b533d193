import type { Database } from "../db/database.ts";
import type { Settings } from "../config/settings.ts";

/** What every CLI command gets: state passed in, no singletons. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  /** The environment read and checked once (on first use), as the app reads it; a bad value is refused naming it. */
  settings(): Settings;
  /** Opens the configured database, migrated; closed by the CLI when the command ends. */
  openDb(): Promise<Database>;
  out(text: string): void;
  err(text: string): void;
  /** Raw text to stdout (no newline added), resolving once written: a long export waits when the pipe is full. */
  write(chunk: string): Promise<void>;
  /** Raw text to stderr (a progress line redrawn in place). */
  progress(text: string): void;
  /** The command's exit code when it ends without an error (a check that failed sets `EXIT.failed`). */
  exitWith(code: number): void;
  /** Whether stderr is a terminal: progress is shown there only then. */
  stderrIsTTY(): boolean;
  now(): Date;
}

/** Exit codes, documented in the README: 0 ok, 1 check failed, 2 usage or input error, 3 unavailable. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const;
