import type { Command } from "commander";
import type { CliContext } from "./context.ts";
import { bridgeSettings, runBridge } from "../mcp/bridge.ts";

/** `agent-gate mcp`: the stdio bridge for MCP clients that start servers as local processes. */
export function registerMcp(program: Command, ctx: CliContext): void {
  program
    .command("mcp")
    .description(
      "Serve MCP on stdin/stdout, bridged to a running Agent Gate's /mcp endpoint (AGENT_GATE_URL) with an MCP key (AGENT_GATE_TOKEN). Logs go to stderr.",
    )
    .action(async () => {
      const settings = bridgeSettings(ctx.env);
      await runBridge(settings, { stdin: process.stdin, stdout: process.stdout, log: (text) => ctx.err(text) });
    });
}
