// Compiles src/ to dist/ (run by `npm ci` through the `prepare` script, and by `npm run build`):
// tsc with tsconfig.build.json, the two entry points bundled, the migrations beside the compiled migrator, and a
// PGlite data directory already migrated (dist/db/pglite-template.tar.gz) that a fresh embedded database starts
// from instead of running initdb and every migration. Plain JavaScript: it runs before anything else is built.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });

// The entry points `npm start` (dist/main.js) and the CLI (dist/cli.js) run are each one file, with the
// dependencies inside: Node resolves and reads one module instead of about a thousand, so a process starts on
// less CPU (`agent-gate --version`: 0.85 s → 0.45 s; the app's imports: 1.4 s → 0.45 s). Left outside:
// PGlite, which finds its WebAssembly and data files beside its own module, pino, whose transports run in
// worker threads loaded by path, and pg's optional native binding. The rest of dist/ stays tsc's output, which
// bin/agent-gate.js (the `.env` loader) and this script (the template below) import.
const srcDir = join(root, "src");
const distDir = join(root, "dist");
for (const entry of ["main", "cli"]) {
  const outfile = join(distDir, `${entry}.js`);
  await build({
    entryPoints: [join(srcDir, `${entry}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["@electric-sql/*", "pino", "pino-pretty", "pino-http", "pg-native"],
    // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as agentGateRequire } from 'node:module'; const require = agentGateRequire(import.meta.url);",
    },
    plugins: [keepImportMetaUrl(outfile)],
    legalComments: "none",
    logLevel: "warning",
  });
}

/**
 * Each source keeps its own `import.meta.url` inside a bundle: the URL its compiled file has under dist/, so
 * `new URL("./migrations/", import.meta.url)` in src/db/migrate.ts still finds dist/db/migrations/.
 */
function keepImportMetaUrl(outfile) {
  return {
    name: "keep-import-meta-url",
    setup(bundler) {
      bundler.onLoad({ filter: /\.ts$/ }, (args) => {
        let contents = readFileSync(args.path, "utf8");
        if (args.path.startsWith(srcDir + sep) && contents.includes("import.meta.url")) {
          const compiled = join(distDir, relative(srcDir, args.path)).replace(/\.ts$/, ".js");
          const path = relative(dirname(outfile), compiled).split(sep).join("/");
          const url = `new URL(${JSON.stringify(path.startsWith(".") ? path : `./${path}`)}, import.meta.url).href`;
          contents = contents.replaceAll("import.meta.url", url);
        }
        return { contents, loader: "ts" };
      });
    },
  };
}

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
