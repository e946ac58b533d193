import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Variables the app reads (`env.NAME`), except the shell's own. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(join(ROOT, "src"))) {
    for (const match of readFileSync(file, "utf8").matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b/g)) names.add(match[1]!);
  }
  names.delete("USER");
  // Temporary debugging switches are not configuration.
  return new Set([...names].filter((name) => !name.startsWith("DBG_")));
}

describe(".env.example", () => {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  const documented = new Map<string, string>();
  let comment: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) comment.push(line);
    const variable = /^([A-Z][A-Z0-9_]+)=/.exec(line);
    if (variable) documented.set(variable[1]!, comment.join("\n"));
    if (!line.startsWith("#")) comment = variable ? comment : [];
  }

  it.each([...variablesRead()].sort())("lists and explains %s", (name) => {
    expect(documented.has(name)).toBe(true);
    expect(documented.get(name)).not.toBe("");
  });

  it("holds no secret values", () => {
    for (const name of ["PRIVATE_KEY", "WEBHOOK_SECRET", "AGENT_GATE_KEYS", "DATABASE_URL"])
      expect(text).toMatch(new RegExp(`^${name}=$`, "m"));
  });
});
