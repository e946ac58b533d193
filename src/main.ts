import { start } from "./start.ts";

start(process.env).catch((error: unknown) => {
  console.error(`agent-gate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
