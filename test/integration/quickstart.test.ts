import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { BIN, npmStartCommand, ROOT } from "../support/dist-app.ts";
import { freePort } from "../support/process-app.ts";

// README.md, section "Quick start against the GitHub stand-in", followed line
// by line as written: the command lines are read from the README itself, in
// its order, and each runs through bash in a directory laid out as a fresh
// clone (the repository's files linked in, its own .env and data dir). Only
// what a test must change is changed, and nothing else:
// - `npm ci` is not run again: the suite runs on the installed, built tree;
// - `npm start`, `npx agent-gate` and `npx tsx` are the commands they stand
//   for (node dist/main.js, node bin/agent-gate.js, node --import tsx), without
//   npm's start-up;
// - the ports (3999, 3000, 5354) are free ones of the test's, in the commands
//   and in the .env the README copies;
// - `<the token>` and `<the TXT record's value>` are what the earlier steps printed.
// Long-running lines (ending in `&`) run in the background until the end.

const SECTION = "## Quick start against the GitHub stand-in";

function quickStartLines(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no section "${SECTION}"`);
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme.slice(start));
  if (!block) throw new Error(`README.md's "${SECTION}" has no sh block`);
  return block[1]!.split("\n").filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
}

interface Proc {
  output: string[];
  exited: Promise<number | null>;
  pid: number;
  code: () => number | null;
}

const background: Proc[] = [];
const clone = mkdtempSync(join(tmpdir(), "agent-gate-quickstart-"));

afterAll(async () => {
  for (const proc of background.reverse()) {
    if (proc.code() === null) {
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (proc.code() === null) {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  rmSync(clone, { recursive: true, force: true });
}, 60_000);

function spawnLine(line: string): Proc {
  // Its own process group, so the whole of a background line stops at the end.
  const child = spawn("bash", ["-c", `exec ${line}`], {
    cwd: clone,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { output, exited, pid: child.pid!, code: () => child.exitCode };
}

async function waitForOutput(proc: Proc, pattern: RegExp, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(proc.output.join(""))) return;
    if (proc.code() !== null) throw new Error(`${what} exited with ${proc.code()}:\n${proc.output.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not print ${pattern} in time:\n${proc.output.join("")}`);
}

async function waitForReady(url: string, proc: Proc): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (proc.code() !== null) throw new Error(`the app exited with ${proc.code()}:\n${proc.output.join("")}`);
    const status = await fetch(`${url}/readyz`).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the app was not ready in time:\n${proc.output.join("")}`);
}

describe.runIf(backend() === "pglite")(
  "the README's quick start against the GitHub stand-in",
  { timeout: 600_000 },
  () => {
    it("reaches an approved deploy and an approved outreach through the Action, word for word", async () => {
      // A fresh clone's layout: the repository's files, nothing of a developer's (.env, data dir).
      for (const entry of [
        "package.json",
        "bin",
        "dist",
        "src",
        "scripts",
        "test",
        "examples",
        "action",
        "node_modules",
        "app.yml",
        "tsconfig.json",
      ]) {
        symlinkSync(join(ROOT, entry), join(clone, entry));
      }
      const github = await freePort();
      const appPort = await freePort();
      const dnsPort = await freePort();
      const ports = (text: string) =>
        text
          .replaceAll("127.0.0.1:3999", `127.0.0.1:${github}`)
          .replaceAll("--port 3999", `--port ${github}`)
          .replaceAll("127.0.0.1:3000", `127.0.0.1:${appPort}`)
          .replaceAll("PORT=3000", `PORT=${appPort}`)
          .replaceAll("127.0.0.1:5354", `127.0.0.1:${dnsPort}`)
          .replaceAll("--port 5354", `--port ${dnsPort}`);
      const [start, ...startArgs] = npmStartCommand();
      const commands: [RegExp, string][] = [
        [/^npm start\b/, [start, ...startArgs].join(" ")],
        [/^npx agent-gate\b/, `${process.execPath} ${BIN}`],
        [/^npx tsx\b/, `${process.execPath} --import tsx`],
      ];

      const lines = quickStartLines();
      expect(lines[0]).toBe("npm ci");
      const printed: Record<string, string> = {};
      const steps: string[] = [];
      let stand_in: Proc | undefined;
      for (const original of lines.slice(1)) {
        const inBackground = original.endsWith(" &");
        let line = ports(original.replace(/ &$/, ""));
        for (const [pattern, command] of commands) line = line.replace(pattern, command);
        for (const [placeholder, value] of Object.entries(printed)) line = line.replaceAll(placeholder, value);
        expect(line, `a placeholder in "${original}" that no earlier step printed`).not.toMatch(/<[^>]+>/);
        steps.push(original.split(" ").slice(0, 3).join(" "));

        if (inBackground) {
          const proc = spawnLine(line);
          background.push(proc);
          if (original.includes("scripts/github-fake.ts")) {
            stand_in = proc;
            await waitForOutput(proc, /GitHub fake listening on/, "the GitHub stand-in");
          } else if (original.startsWith("npm start")) {
            await waitForReady(`http://127.0.0.1:${appPort}`, proc);
            // What the README says shows the installation: the stand-in's line, once the app acknowledged it.
            await waitForOutput(stand_in!, /installed the App on Codertocat \(installation 1\)/, "the GitHub stand-in");
          } else if (original.includes("scripts/dns-stand-in.ts")) {
            await waitForOutput(proc, /DNS stand-in listening on/, "the DNS stand-in");
          } else {
            throw new Error(`no readiness known for the background line "${original}"`);
          }
          continue;
        }

        const proc = spawnLine(line);
        // A step that hangs (an approval that never comes) fails the test instead of waiting out the Action's hour.
        const code = await Promise.race([
          proc.exited,
          new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 240_000).unref()),
        ]);
        if (code === "hung") {
          process.kill(-proc.pid, "SIGKILL");
          throw new Error(
            `"${original}" did not finish in 240 s:\n${proc.output.join("")}\n--- the GitHub stand-in:\n${stand_in?.output.join("") ?? ""}`,
          );
        }
        const out = proc.output.join("");
        expect(code, `"${original}" exited with ${code}:\n${out}`).toBe(0);

        if (original.startsWith("cp ") && original.endsWith(" .env")) {
          // The .env's ports are the test's.
          writeFileSync(join(clone, ".env"), ports(readFileSync(join(clone, ".env"), "utf8")));
        } else if (original.includes("installation list")) {
          expect(out).toMatch(/^1\s+Codertocat\s+active\s+Codertocat\/Hello-World\s/m);
        } else if (original.includes("token create")) {
          const token = out
            .trim()
            .split("\n")
            .find((l) => l.startsWith("agt_"));
          expect(token, out).toBeDefined();
          printed["<the token>"] = token!.trim();
        } else if (original.includes("site add")) {
          const record = /^\s*_agent-gate\.example\.com\s+TXT\s+"([^"]+)"/m.exec(out);
          expect(record, out).not.toBeNull();
          expect(record![1]).toMatch(/^agent-gate-verification=/);
          printed["<the TXT record's value>"] = record![1]!;
        } else if (original.includes("site verify")) {
          expect(out).toMatch(/verified/);
        } else if (original.includes("node action/dist/index.js")) {
          // Outside a runner the outputs are printed as workflow commands.
          expect(out).not.toMatch(/^::error::/m);
          expect(out).toMatch(/^::set-output name=decision::approved$/m);
          expect(out).toMatch(/^::set-output name=approvers::alice$/m);
          expect(out).toMatch(/^::set-output name=receipt::\S+/m);
          // The token is masked, never printed in the clear beyond the mask command.
          expect(out.split(printed["<the token>"]!)).toHaveLength(2);
        }
      }

      // The README's order, each step once: keys, config, GitHub, the app, the CLI, DNS, a deploy, an outreach.
      expect(steps).toEqual([
        "openssl genrsa -out",
        "cp examples/quickstart/quickstart.env .env",
        "npx tsx scripts/github-fake.ts",
        "npm start &",
        "npx agent-gate installation",
        "npx agent-gate token",
        "npx agent-gate site",
        "npx tsx scripts/dns-stand-in.ts",
        "npx agent-gate site",
        "env INPUT_SERVER-URL=http://127.0.0.1:3000 INPUT_TOKEN=<the",
        "env INPUT_SERVER-URL=http://127.0.0.1:3000 INPUT_TOKEN=<the",
      ]);
      const deploys = lines.filter((l) => l.includes("INPUT_KIND=deploy"));
      const outreach = lines.filter((l) => l.includes("INPUT_KIND=outreach"));
      expect(deploys).toHaveLength(1);
      expect(outreach).toHaveLength(1);
      for (const input of ["INPUT_CHANNEL=", "INPUT_RECIPIENTS=", "INPUT_SUBJECT=", "INPUT_CONTENT="])
        expect(outreach[0]).toContain(input);
    });
  },
);
