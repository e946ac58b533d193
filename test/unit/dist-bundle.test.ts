import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { describe, expect, it } from "vitest";

// `npm start` and the `agent-gate` bin each load one bundled file (scripts/build-dist.mjs): a process imports one
// module instead of about a thousand. Only Node's built-ins and the packages that must stay outside are imported.
const OUTSIDE = ["@electric-sql/pglite", "@electric-sql/pglite-socket", "pino", "pino-http", "pino-pretty"];

function imported(file: string): string[] {
  const code = readFileSync(new URL(`../../dist/${file}`, import.meta.url), "utf8");
  const statics = [...code.matchAll(/^import [^;]* from "([^"]+)";$/gm)].map((match) => match[1]!);
  const dynamics = [...code.matchAll(/\bimport\("([^"]+)"\)/g)].map((match) => match[1]!);
  return [...new Set([...statics, ...dynamics])];
}

describe.each(["main.js", "cli.js"])("dist/%s", (file) => {
  it("is one bundle: no module of ours, and no package but the ones kept outside", () => {
    const specifiers = imported(file);
    expect(specifiers).toContain("@electric-sql/pglite");
    const stray = specifiers.filter(
      (specifier) => !OUTSIDE.includes(specifier) && !builtinModules.includes(specifier.replace(/^node:/, "")),
    );
    expect(stray).toEqual([]);
  });
});
