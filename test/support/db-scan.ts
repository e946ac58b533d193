import type { Database } from "../../src/db/database.ts";

/** Every row of every table, as text, for scans that look for what must never be stored (pass the owner: it reads them all). */
export async function dumpAllRows(db: Database): Promise<string> {
  const tables = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`odd table name ${name}`);
    const rows = await db.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
    parts.push(...rows.map((r) => `${name}: ${r.row}`));
  }
  return parts.join("\n");
}
