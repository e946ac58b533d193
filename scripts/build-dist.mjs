// Compiles src/ to dist/ (run by `npm ci` through the `prepare` script, and by `npm run build`):
// tsc with tsconfig.build.json, the migrations beside the compiled migrator, and a PGlite data directory
// already migrated (dist/db/pglite-template.tar.gz) that a fresh embedded database starts from instead of
// running initdb and every migration. Plain JavaScript: it runs before anything else is built.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });

const from = join(root, "src", "db", "migrations");
const to = join(root, "dist", "db", "migrations");
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
const migrations = readdirSync(from)
  .filter((file) => file.endsWith(".sql"))
  .sort();
const digest = createHash("sha256");
for (const file of migrations) {
  copyFileSync(join(from, file), join(to, file));
  digest
    .update(file)
    .update("\0")
    .update(readFileSync(join(from, file)))
    .update("\0");
}

// The template is rebuilt only when the migrations (or the PGlite version) change.
const pgliteVersion = JSON.parse(
  readFileSync(join(root, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8"),
).version;
const stamp = `${pgliteVersion}:${digest.digest("hex")}`;
const template = join(root, "dist", "db", "pglite-template.tar.gz");
const stampFile = `${template}.stamp`;
if (!existsSync(template) || !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp) {
  const { openPglite } = await import(join(root, "dist", "db", "pglite.js"));
  const { migrate } = await import(join(root, "dist", "db", "migrate.js"));
  const db = await openPglite({ template: false });
  await migrate(db);
  const dump = await db.pglite.dumpDataDir("gzip");
  await db.close();
  writeFileSync(template, Buffer.from(await dump.arrayBuffer()));
  writeFileSync(stampFile, stamp);
}

// When this build finished (the test suite rebuilds when a source is newer).
writeFileSync(join(root, "dist", ".built"), `${new Date().toISOString()}\n`);
