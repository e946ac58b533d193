// `npm test`: the type check and the whole suite, started together. The suite spends much of its time waiting on
// sockets and child processes, so the type check fits in beside it instead of going first. Fails when either fails;
// arguments go to vitest (`npm test -- test/unit/cli-output.test.ts`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: "inherit" });
    child.on("error", (error) => {
      process.stderr.write(`npm test: could not start ${args[0]}: ${error.message}\n`);
      resolve(1);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

const [typecheck, suite] = await Promise.all([
  run([tsc, "--noEmit", "-p", "tsconfig.json"]),
  run([vitest, "run", ...process.argv.slice(2)]),
]);
if (typecheck !== 0) process.stderr.write("npm test: the type check failed (tsc --noEmit -p tsconfig.json).\n");
process.exitCode = typecheck || suite;
