import type { Database } from "./database.ts";
import { openPg } from "./pg.ts";
import { openPglite } from "./pglite.ts";

export interface StorageSettings {
  /** PostgreSQL connection string; unset means embedded PGlite. */
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its data when DATABASE_URL is unset. */
  dataDir: string;
}

export function storageSettings(env: NodeJS.ProcessEnv): StorageSettings {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.AGENT_GATE_DATA_DIR || ".agent-gate/data",
  };
}

export async function openDatabase(settings: StorageSettings): Promise<Database> {
  if (settings.databaseUrl) return openPg({ connectionString: settings.databaseUrl });
  return openPglite({ dataDir: settings.dataDir });
}
