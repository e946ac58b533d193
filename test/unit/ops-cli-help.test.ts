import { execFile } from "node:child_process";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerCommands } from "../../src/cli/commands.ts";
import type { CliContext } from "../../src/cli/context.ts";

const ctx: CliContext = {
  env: {},
  openDb: () => Promise.reject(new Error("help needs no database")),
  out: () => {},
  err: () => {},
  now: () => new Date(0),
};

function commands(): Command[] {
  const program = new Command("agent-gate");
  registerCommands(program, ctx);
  const all: Command[] = [];
  const walk = (command: Command) => {
    for (const sub of command.commands) {
      all.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return all;
}

describe("agent-gate --help", () => {
  it("registers the operator commands", () => {
    const names = commands().map((c) => c.name());
    for (const name of ["serve", "migrate", "doctor", "explain", "token", "site", "audit", "keys", "receipt"]) expect(names).toContain(name);
  });

  it.each(commands().map((c) => [c.name(), c] as const))("describes %s with help", (_name, command) => {
    expect(command.description()).not.toBe("");
    expect(command.helpInformation()).toMatch(/^Usage: /);
    expect(command.helpInformation()).toContain("-h, --help");
  });

  it.each(["doctor", "explain", "migrate"])("%s offers --json", (name) => {
    const command = commands().find((c) => c.name() === name)!;
    expect(command.options.map((o) => o.long)).toContain("--json");
  });
});

it("prints help and exits 0 as a child process", async () => {
  const bin = join(import.meta.dirname, "../../bin/agent-gate.js");
  const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile("node", [bin, "doctor", "--help"], { timeout: 60_000 }, (error, stdout) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout });
    });
  });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain("Usage: agent-gate doctor");
  expect(result.stdout).toContain("Exit codes: 0 every check passed, 1 at least one failed.");
}, 60_000);
