import { loadDotEnv } from "./setup/env-file.ts";

// `.env` (written by the setup page) first: nothing may read the environment before it is loaded.
loadDotEnv();
const { start } = await import("./start.ts");
start(process.env).catch((error: unknown) => {
  console.error(`agent-gate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
