import type { Database } from "../../src/db/database.ts";

// Looks for secrets where none may be: log output, error bodies, database rows.

const SHAPES: [string, RegExp][] = [
  ["an agent token", /agt_[A-Za-z0-9_-]{20,}/],
  ["an installation token", /gh[su]_[A-Za-z0-9_-]{10,}/],
  ["a private key", new RegExp(["-----BEGIN", "[A-Z ]*PRIVATE KEY-----"].join(" "))],
];

/** What secret-like text `text` holds: each known value found, and each token or key shape. */
export function secretsIn(text: string, known: readonly string[]): string[] {
  const found = known.filter((value) => value.length >= 8 && text.includes(value)).map((value) => `a known secret (${value.length} characters)`);
  for (const [what, shape] of SHAPES) if (shape.test(text)) found.push(what);
  return found;
}

/** Every row of every table, as text, read as the owner. */
export async function allRows(db: Database): Promise<string> {
  const tables = await db.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected table name ${name}`);
    const rows = await db.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join("\n");
}
