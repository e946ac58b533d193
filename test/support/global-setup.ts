import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPglite } from "../../src/db/pglite.ts";
import { migrate } from "../../src/db/migrate.ts";

/**
 * Migrate one PGlite database and dump its data dir, so each test file starts
 * its own copy in well under a second instead of booting and migrating anew.
 */
export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
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
