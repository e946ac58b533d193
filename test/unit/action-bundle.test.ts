import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { actionBundle, buildAction } from "../../scripts/build-action.ts";

describe("action/dist/index.js", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("is the bundle of action/src as committed (rebuild with `npm run build:action`)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-"));
    dirs.push(dir);
    const fresh = path.join(dir, "index.js");
    await buildAction(fresh);
    const [built, committed] = await Promise.all([readFile(fresh, "utf8"), readFile(actionBundle, "utf8")]);
    expect(built.length).toBeGreaterThan(0);
    // Compared as a boolean so a stale bundle fails with the hint, not a 1.6 MB diff.
    expect(built === committed, "action/dist/index.js is stale: run `npm run build:action` and commit it").toBe(true);
  });
});
