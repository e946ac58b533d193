import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPglite } from "../../src/db/pglite.ts";
import { migrate } from "../../src/db/migrate.ts";

/**
 * Migrate one PGlite database and dump its data dir, so each test file starts
 * its own copy in well under a second instead of booting and migrating anew.
 */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  buildIfStale();
  const db = await openPglite();
  await migrate(db);
  const dump = await db.pglite.dumpDataDir("gzip");
  await db.close();
  const dir = mkdtempSync(join(tmpdir(), "agent-gate-test-"));
  const file = join(dir, "migrated.tar.gz");
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  provide("pgliteDump", file);
}

declare module "vitest" {
  export interface ProvidedContext {
    pgliteDump: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
}

/**
 * The tests that run the app as `npm start` does (and the `agent-gate` bin) run dist/: rebuild it when a
 * source is newer than the last build, so they never test stale code.
 */
function buildIfStale(): void {
  const stamp = join(ROOT, "dist", ".built");
  const sources = Math.max(
    newest(join(ROOT, "src")),
    statSync(join(ROOT, "tsconfig.build.json")).mtimeMs,
    statSync(join(ROOT, "scripts", "build-dist.mjs")).mtimeMs,
  );
  if (
    existsSync(stamp) &&
    existsSync(join(ROOT, "dist", "db", "pglite-template.tar.gz")) &&
    statSync(stamp).mtimeMs >= sources
  )
    return;
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-dist.mjs")], { cwd: ROOT, stdio: "inherit" });
}
