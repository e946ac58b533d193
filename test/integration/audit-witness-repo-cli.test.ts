import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../src/audit/log.ts";
import type { GitHubClient } from "../../src/github/client.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { commitWitnessesDue } from "../../src/outbox/witness-commit.ts";
import { runCli } from "../support/cli.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

// `agent-gate witness add --repo` and `audit verify --witness <file>` as an
// admin uses them (the CLI's `main`, in this process), against the app's
// database; the sweep's commits go to the GitHub stand-in.

const dir = mkdtempSync(join(tmpdir(), "agent-gate-repo-witness-"));
const file = (name: string) => join(dir, name);
const now = new Date("2026-11-30T12:00:00.000Z");
const CHECKPOINT = "agent-gate/audit/310/checkpoint";
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

let t: TestDatabase;
let fake: GitHubFake;
let probot: Probot;
beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  probot = new Probot({
    appId: 4243,
    privateKey,
    secret: "s",
    baseUrl: fake.apiUrl,
    log: pino({ level: "silent" }),
    Octokit: ProbotOctokit.defaults({ throttle: { enabled: false }, retry: { enabled: false } }),
  });
});
afterAll(async () => {
  fake.assertClean();
  await fake.close();
  await t.drop();
});

const sweep = () =>
  commitWitnessesDue({ db: t.db, github: (id) => probot.auth(id) as Promise<GitHubClient>, now: () => new Date() });

/** GitHub's installation events, as the app records them: installation 310 covers acme/log-310, 311 octo/other. */
async function installed(id: number, repo: string): Promise<void> {
  await recordInstallation(t.db, { id, account: repo.split("/")[0]! }, now);
  const settings = fake.state.repo(repo);
  settings.installation_id = id;
  await recordRepositories(t.db, id, [{ id: settings.id, full_name: repo }], [], now);
}

async function append(n: number) {
  for (let i = 0; i < n; i += 1)
    await t.db.tenant(310, (tx) => appendAudit(tx, 310, { action: "test.witness", outcome: "ok", data: { i } }, now));
}

describe.skipIf(!process.env.TEST_DATABASE_URL || process.env.TEST_BACKEND !== "postgres")(
  "agent-gate witness add --repo and audit verify --witness <file>",
  { timeout: 180_000 },
  () => {
    it("adds a repository witness of the installation, commits to it, and verify reports the checkpoint it holds", async () => {
      const env = {
        PATH: process.env.PATH,
        DATABASE_URL: t.url,
        AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(3)).toString("base64")}`,
      };
      const run = (args: string[]) => runCli(args, env);
      await installed(310, "acme/log-310");
      await installed(311, "octo/other");
      await append(5);

      // The repository must be one the App is installed on, in this installation; flags are checked.
      const refused = async (args: string[], text: string) =>
        expect(await run(["witness", "add", "gh", "--installation", "310", ...args])).toMatchObject({
          code: 2,
          stderr: expect.stringContaining(text),
        });
      await refused(["--repo", "octo/other"], "octo/other belongs to installation 311, not 310");
      await refused(["--repo", "acme/nowhere"], "is not a repository the App is installed on in installation 310");
      await refused(["--repo", "not-a-repo"], "must be a repository as owner/name");
      await refused(["--repo", "acme/log-310", "--branch", "a..b"], "--branch");
      await refused(["--repo", "acme/log-310", "--url", "https://witness.example"], "--repo");
      await refused(["--url", "https://witness.example", "--branch", "x"], "--branch");
      expect((await run(["witness", "list", "--installation", "310"])).stdout).toContain("no witnesses");

      const added = await run(["witness", "add", "gh", "--installation", "acme", "--repo", "ACME/log-310"]);
      expect(added).toMatchObject({ code: 0 });
      expect(added.stdout).toContain(
        "witness gh added for installation 310; the latest checkpoint is committed to acme/log-310 on branch agent-gate-checkpoints",
      );
      await refused(["--repo", "acme/log-310"], "already exists");

      expect((await run(["audit", "checkpoint", "--installation", "310"])).code).toBe(0);
      expect(await sweep()).toEqual(["committed"]);
      const list = await run(["witness", "list", "--installation", "310"]);
      expect(list.stdout).toMatch(
        /^gh {2}acme\/log-310@agent-gate-checkpoints {2}committed (\d+) of \1 in [0-9a-f]{12} {2}ok$/m,
      );

      // The admin takes the file from GitHub (git show agent-gate-checkpoints:<path>) and verifies an export against it.
      const held = fake.state.getFile("acme/log-310", "agent-gate-checkpoints", CHECKPOINT)!;
      writeFileSync(file("held.txt"), held);
      writeFileSync(file("keys.json"), JSON.stringify(await publishedKeys(t.db)));
      const exported = await run([
        "audit",
        "export",
        "--installation",
        "310",
        "--manifest",
        file("m.json"),
        "--output",
        file("310.jsonl"),
      ]);
      expect(exported.code).toBe(0);
      const verify = (extra: string[]) =>
        run([
          "audit",
          "verify",
          file("310.jsonl"),
          "--manifest",
          file("m.json"),
          "--keys",
          file("keys.json"),
          ...extra,
        ]);
      const size = Number(held.split("\n")[1]);
      expect(await verify(["--witness", file("held.txt")])).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(
          `witnesses: the repository witness's checkpoint ${file("held.txt")} holds tree size ${size}; the log extends it`,
        ),
      });
      const json = JSON.parse((await verify(["--witness", file("held.txt"), "--json"])).stdout);
      expect(json).toMatchObject({ ok: true, repository_witnesses: [{ size, extended: true }] });
      writeFileSync(file("junk.txt"), "not a checkpoint\n");
      expect(await verify(["--witness", file("junk.txt")])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining("--witness"),
      });

      // The log grows and the branch with it: an export that stops short of what GitHub holds is a fault.
      await append(4);
      expect((await run(["audit", "checkpoint", "--installation", "310"])).code).toBe(0);
      expect(await sweep()).toEqual(["committed"]);
      writeFileSync(file("later.txt"), fake.state.getFile("acme/log-310", "agent-gate-checkpoints", CHECKPOINT)!);
      expect(await verify(["--witness", file("later.txt")])).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("the log does not extend the repository witness's checkpoint"),
      });
    });
  },
);
