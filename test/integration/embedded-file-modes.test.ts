import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort } from "../support/process-app.ts";
import { appEnvFor, npmStartCommand, run, waitFor, type Running } from "../support/dist-app.ts";
import { runCliProcess } from "../support/cli.ts";

// Issue 26, item 4: the embedded database's files are its user's alone. `npm start` and the CLI create the data
// dir 0700 and every file in it without group or other bits (umask 077), the socket the CLI reaches the app
// through included; a data dir other users can write is refused, naming it and the chmod that fixes it.

/** Every path under `dir` (itself included) whose mode gives anything to group or others. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.mode & 0o077) found.push(`${path} 0${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(dir);
  return found;
}

describe.runIf(backend() === "pglite")(
  "the embedded database's files are its user's alone",
  { timeout: 240_000 },
  () => {
    let fake: GitHubFake;
    let tmp: string;
    const running: Running[] = [];
    let env: (dataDir: string, port: number) => NodeJS.ProcessEnv;

    beforeAll(async () => {
      fake = await GitHubFake.start();
      tmp = mkdtempSync(join(tmpdir(), "agent-gate-modes-"));
      const appEnv = appEnvFor(fake.url, "modes-secret");
      env = (dataDir, port) => appEnv({ PORT: String(port), LOG_LEVEL: "warn", AGENT_GATE_DATA_DIR: dataDir });
    });
    afterAll(async () => {
      await Promise.all(running.map((r) => r.stop("SIGKILL")));
      await fake?.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it("npm start creates the data dir 0700, its files and its socket closed to other users", async () => {
      const dataDir = join(tmp, "started", "data");
      const port = await freePort();
      const app = run(npmStartCommand(), tmp, env(dataDir, port));
      running.push(app);
      await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(tmp, "started")).mode & 0o777).toBe(0o700);
      const socket = lstatSync(join(dataDir, ".s.PGSQL.5432"));
      expect(socket.isSocket()).toBe(true);
      expect(readdirSync(dataDir).length).toBeGreaterThan(10);
      expect(openToOthers(dataDir)).toEqual([]);
      // A CLI command through the app's socket works, and leaves nothing open either.
      const listed = await runCliProcess(["token", "list", "--installation", "7"], env(dataDir, 0), { cwd: tmp });
      expect(listed.code, listed.stderr).toBe(0);
      expect(openToOthers(dataDir)).toEqual([]);
      expect(await app.stop()).toBe(0);
      expect(openToOthers(dataDir)).toEqual([]);
    });

    it("the CLI creates the data dir the same way", async () => {
      const dataDir = join(tmp, "migrated", "data");
      const migrated = await runCliProcess(["migrate"], env(dataDir, 0), { cwd: tmp });
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(readdirSync(dataDir).length).toBeGreaterThan(10);
      expect(openToOthers(dataDir)).toEqual([]);
    });

    it("refuses a data dir other users can write, naming it and the chmod that fixes it; then starts once fixed", async () => {
      const dataDir = join(tmp, "shared");
      mkdirSync(dataDir);
      chmodSync(dataDir, 0o777);
      const port = await freePort();
      const app = run(npmStartCommand(), tmp, env(dataDir, port));
      running.push(app);
      expect(await app.exited).toBe(1);
      const said = app.output.join("");
      expect(said).toContain(
        `The embedded database's data directory ${dataDir} can be written by other users (mode 0777)`,
      );
      expect(said).toContain(`chmod 700 ${dataDir}`);
      expect(readdirSync(dataDir)).toEqual([]);

      const listed = await runCliProcess(["migrate"], env(dataDir, 0), { cwd: tmp });
      expect(listed.code).not.toBe(0);
      expect(listed.stderr).toContain(`chmod 700 ${dataDir}`);
      expect(readdirSync(dataDir)).toEqual([]);

      chmodSync(dataDir, 0o700);
      const fixed = await runCliProcess(["migrate"], env(dataDir, 0), { cwd: tmp });
      expect(fixed.code, fixed.stderr).toBe(0);
    });

    it("closes to other users the files an older version left open (0666 in a 0755 data dir)", async () => {
      const dataDir = join(tmp, "migrated", "data");
      chmodSync(dataDir, 0o755);
      const stray = join(dataDir, "base");
      for (const entry of readdirSync(stray)) chmodSync(join(stray, entry), 0o777);
      writeFileSync(join(dataDir, "old-file"), "x", { mode: 0o666 });
      chmodSync(join(dataDir, "old-file"), 0o666);
      expect(openToOthers(dataDir).length).toBeGreaterThan(1);
      const listed = await runCliProcess(["token", "list", "--installation", "7"], env(dataDir, 0), { cwd: tmp });
      expect(listed.code, listed.stderr).toBe(0);
      expect(openToOthers(dataDir)).toEqual([]);
    });
  },
);
