import type { Database } from "./database.ts";

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

/** Opens the configured store, loading only its driver (the CLI starts faster for it). */
export async function openDatabase(settings: StorageSettings): Promise<Database> {
  if (settings.databaseUrl) {
    const { openPg } = await import("./pg.ts");
    return openPg({ connectionString: settings.databaseUrl });
  }
  const { openPglite } = await import("./pglite.ts");
  return openPglite({ dataDir: settings.dataDir });
}
