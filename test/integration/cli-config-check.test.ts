import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, runCli, type CliRun } from "../support/cli.ts";

// `agent-gate config check [FILE]` in this process, run from a directory of its own: no database, no GitHub.

const tmp = mkdtempSync(join(tmpdir(), "agent-gate-config-check-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The CLI with `cwd` as its working directory (FILE and the default are relative to it), as a shell runs it there. */
function run(args: string[], cwd = tmp): Promise<CliRun> {
  return runCli(args, cliEnv(), { cwd });
}

describe("agent-gate config check", { timeout: 120_000 }, () => {
  it("checks .github/agent-gate.yml by default: a valid file exits 0", async () => {
    mkdirSync(join(tmp, ".github"), { recursive: true });
    writeFileSync(join(tmp, ".github/agent-gate.yml"), "agents: [known]\napprovals: { required: 2 }\nexpiry: 24h\n");
    const result = await run(["config", "check"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("ok: .github/agent-gate.yml is a valid Agent Gate config");
  });

  it("a YAML error names its line and column; exit 1", async () => {
    writeFileSync(join(tmp, "broken.yml"), "agents: [x]\napprovals:\n  required: 1\n   min_permission: write\n");
    const result = await run(["config", "check", "broken.yml"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("broken.yml: (file): the YAML could not be parsed at line 3, column 13");
  });

  it("every unknown key and bad value, each on its line; --json lists them", async () => {
    writeFileSync(join(tmp, "bad.yml"), "approvals: { required: 0 }\nsurprise: true\n");
    const result = await run(["config", "check", "bad.yml"]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines.some((line) => line.startsWith("bad.yml: approvals.required: "))).toBe(true);
    expect(lines.some((line) => line.includes("surprise"))).toBe(true);
    const json = await run(["config", "check", "bad.yml", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, file: "bad.yml" });
  });

  it("a missing file is refused naming it (exit 2)", async () => {
    const result = await run(["config", "check", "nope.yml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Could not read nope.yml: no such file");
  });
});
