import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// scripts/release-action.sh run in a throwaway copy of the repository: it tags
// v1.x.y and moves v1, and refuses what would publish a wrong Action.

const root = resolve(import.meta.dirname, "../..");
let repo: string;
const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
const release = (version: string) =>
  spawnSync("sh", [join(repo, "scripts/release-action.sh"), version], {
    cwd: repo,
    encoding: "utf8",
    timeout: 120_000,
  });

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), "agent-gate-release-"));
  for (const path of ["action", "scripts", "CHANGELOG.md", "package.json", "tsconfig.json"])
    cpSync(join(root, path), join(repo, path), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(repo, "node_modules"));
  writeFileSync(join(repo, ".gitignore"), "node_modules\n");
  // Built here, where its module paths are those of this copy (node_modules is a link).
  execFileSync("npx", ["tsx", "scripts/build-action.ts"], { cwd: repo });
  git("init", "-q");
  git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", ".");
  git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "release");
  git("config", "user.name", "t");
  git("config", "user.email", "t@example.invalid");
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe("scripts/release-action.sh", { timeout: 180_000 }, () => {
  it("tags the version and moves the major tag to the same commit", () => {
    const result = release("v1.1.0");
    expect(result.status, result.stderr).toBe(0);
    expect(git("rev-parse", "v1.1.0^{commit}")).toBe(git("rev-parse", "HEAD"));
    expect(git("rev-parse", "v1^{commit}")).toBe(git("rev-parse", "HEAD"));
  });

  it.each([
    ["1.2.0", 2, "give the version as vMAJOR.MINOR.PATCH"],
    ["v1.2", 2, "give the version as vMAJOR.MINOR.PATCH"],
    ["v1.9.9", 1, "CHANGELOG.md has no section '## v1.9.9'"],
    ["v1.1.0", 1, "tag v1.1.0 exists already"],
  ])("refuses %s", (version, code, message) => {
    const result = release(version);
    expect(result.status).toBe(code);
    expect(result.stderr).toContain(message);
  });

  it("refuses a stale bundle", () => {
    writeFileSync(join(repo, "action/dist/index.js"), "// stale\n");
    writeFileSync(join(repo, "CHANGELOG.md"), "# Changelog\n\n## v1.2.0\n\n- next\n");
    git("commit", "-qam", "stale");
    const result = release("v1.2.0");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("action/dist/index.js is stale");
    expect(spawnSync("git", ["rev-parse", "-q", "--verify", "refs/tags/v1.2.0"], { cwd: repo }).status).not.toBe(0);
  });
});
