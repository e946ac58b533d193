import { loadDotEnv } from "./setup/env-file.ts";
import { stopWithParent } from "./stop-with-parent.ts";

// `.env` (written by the setup page) first: nothing may read the environment before it is loaded.
loadDotEnv();
// Run by `npm start`: when npm goes (a supervisor's SIGTERM or SIGKILL to it), the app stops too.
if (process.env.npm_lifecycle_event) stopWithParent();
const { start } = await import("./start.ts");
start(process.env).catch((error: unknown) => {
  console.error(`agent-gate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
