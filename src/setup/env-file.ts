import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Loads `.env` (from the working directory) into process.env before anything reads it, as `npm start` and
 * the CLI both do; variables already set in the environment win. Node's own parser (process.loadEnvFile).
 */
export function loadDotEnv(file = ".env"): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

function quote(value: string): string {
  if (/^[A-Za-z0-9_./:@+-]*$/.test(value)) return value;
  if (value.includes('"')) throw new Error("a value for .env cannot hold a double quote");
  return `"${value}"`;
}

/** Sets `values` in the env file: existing lines of those names are replaced, everything else is kept. */
export function writeDotEnv(values: Record<string, string>, file = ".env"): void {
  const names = new Set(Object.keys(values));
  const kept = existsSync(file)
    ? readFileSync(file, "utf8")
        .split(/\r?\n/)
        .reduce<{ lines: string[]; skipping: boolean }>(
          (acc, line) => {
            // A quoted multi-line value (PRIVATE_KEY) continues until its closing quote.
            if (acc.skipping) return { lines: acc.lines, skipping: !line.includes('"') };
            const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
            if (name && names.has(name[1]!)) {
              const rest = name[2]!;
              return { lines: acc.lines, skipping: rest.startsWith('"') && !rest.slice(1).includes('"') };
            }
            return { lines: [...acc.lines, line], skipping: false };
          },
          { lines: [], skipping: false },
        ).lines
    : [];
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  const added = Object.entries(values).map(([name, value]) => `${name}=${quote(value)}`);
  writeFileSync(file, `${[...kept, ...added].join("\n")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Whether the env file already holds an App's credentials (APP_ID, PRIVATE_KEY or WEBHOOK_SECRET set). */
export function credentialsIn(file = ".env"): boolean {
  if (!existsSync(file)) return false;
  const values = parseEnv(readFileSync(file, "utf8"));
  return ["APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"].some(
    (name) => (values[name] ?? "").trim() !== "",
  );
}
