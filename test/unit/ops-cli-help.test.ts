import { execFile } from "node:child_process";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerCommands } from "../../src/cli/commands.ts";
import type { CliContext } from "../../src/cli/context.ts";

const ctx: CliContext = {
  env: {},
  settings: () => {
    throw new Error("help needs no settings");
  },
  openDb: () => Promise.reject(new Error("help needs no database")),
  out: () => {},
  err: () => {},
  write: () => Promise.resolve(),
  progress: () => {},
  exitWith: () => {},
  stderrIsTTY: () => false,
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
    for (const name of [
      "serve",
      "migrate",
      "doctor",
      "explain",
      "token",
      "site",
      "audit",
      "keys",
      "receipt",
      "attestation",
    ])
      expect(names).toContain(name);
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

  it("marks every required option, and only those, as required in --help", () => {
    const all = commands().flatMap((command) => command.options.map((option) => [command, option] as const));
    expect(all.some(([, option]) => option.mandatory)).toBe(true);
    for (const [command, option] of all) {
      // The option's entry: its line and the wrapped lines under it.
      const lines = command.helpInformation().split("\n");
      const at = lines.findIndex((text) => text.trimStart().startsWith(option.flags));
      let end = at + 1;
      while (end < lines.length && /^ {4,}\S/.test(lines[end]!) && !lines[end]!.trimStart().startsWith("-")) end += 1;
      const line = lines.slice(at, end).join(" ");
      if (option.mandatory) expect(line, `${command.name()} ${option.flags}`).toMatch(/\(required\)/);
      else expect(line, `${command.name()} ${option.flags}`).not.toMatch(/\(required\)/);
    }
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
  expect(result.stdout).toContain(
    "Exit codes: 0 every check passed, 1 at least one failed, 2 usage error, 3 the database is unreachable.",
  );
}, 60_000);
