import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const actionEntry = "action/src/index.ts";
export const actionBundle = "action/dist/index.js";

/**
 * Bundles the Action into one file the runner executes with `node`. The output
 * is ESM (the repository's package.json says "type": "module", which also
 * governs action/dist); @actions/core 2 and its dependencies are CommonJS, so
 * the banner gives them a real `require` for Node's built-in modules. Paths in
 * the bundle are relative to the repository root, so the build is byte-for-byte
 * reproducible wherever the checkout lives.
 */
export async function buildAction(outfile: string = path.join(root, actionBundle)): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [actionEntry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: false,
    sourcemap: false,
    legalComments: "inline",
    logLevel: "warning",
    banner: {
      js: 'import { createRequire as __agentGateCreateRequire } from "node:module";\nconst require = __agentGateCreateRequire(import.meta.url);',
    },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildAction(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
