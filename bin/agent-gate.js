#!/usr/bin/env node
// The `agent-gate` CLI: the compiled code in dist/ (`npm ci` builds it; `npm run build` again after a change).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("agent-gate: dist/ is missing: run `npm run build` (npm ci runs it).\n");
  process.exit(1);
}
// `.env` (written by the setup page) first: nothing may read the environment before it is loaded.
const { loadDotEnv } = await import("../dist/setup/env-file.js");
loadDotEnv();
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
