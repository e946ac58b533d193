import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../src/audit/log.ts";
import { noteKeyName } from "../../src/audit/checkpoint.ts";
import { witnessDue } from "../../src/audit/witness-sweep.ts";
import { fromBase64url } from "../../src/crypto/base64url.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { runCli, type CliRun } from "../support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startWitness, type WitnessStandIn } from "../support/tlog-witness.ts";

const dir = mkdtempSync(join(tmpdir(), "agent-gate-witness-cli-"));
const file = (name: string) => join(dir, name);
const now = new Date("2026-11-23T10:00:00.000Z");

/** The CLI in this process, with `env` and PATH as its whole environment. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { PATH: process.env.PATH, ...env });
}

let t: TestDatabase;
let witness: WitnessStandIn | undefined;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await witness?.close();
  await t.drop();
});

describe.skipIf(!process.env.TEST_DATABASE_URL || process.env.TEST_BACKEND !== "postgres")(
  "agent-gate witness and audit verify --witness",
  { timeout: 180_000 },
  () => {
    it("adds a witness, sends it the checkpoint, and audit verify names the witness that cosigned", async () => {
      const env = {
        DATABASE_URL: t.url,
        AGENT_GATE_KEYS: `k1:${Buffer.from(new Uint8Array(32).fill(1)).toString("base64")}`,
      };
      for (let i = 0; i < 6; i += 1)
        await t.db.tenant(91, (tx) => appendAudit(tx, 91, { action: "test.witness", outcome: "ok", data: { i } }, now));
      // The first checkpoint creates the app's signing key; the witness stand-in is told the log's public key.
      const first = await cli(["audit", "checkpoint", "--installation", "91"], env);
      expect(first.code).toBe(0);
      const keys = await publishedKeys(t.db);
      writeFileSync(file("keys.json"), JSON.stringify(keys));
      const key = keys.keys[0]!;
      witness = await startWitness({ keyName: noteKeyName(key.kid), publicKey: fromBase64url(key.public_key)! });

      // A repository witness must be a repository of the installation (audit-witness-repo-cli.test.ts).
      expect(await cli(["witness", "add", "w1", "--installation", "91", "--repo", "acme/log"], env)).toMatchObject({
        code: 2,
        stderr: expect.stringContaining("acme/log is not a repository the App is installed on in installation 91"),
      });
      expect(await cli(["witness", "add", "w1", "--installation", "91", "--url", witness.url], env)).toMatchObject({
        code: 2,
        stderr: expect.stringContaining("--key"),
      });
      const added = await cli(
        ["witness", "add", "w1", "--installation", "91", "--url", witness.url, "--key", witness.vkey],
        env,
      );
      expect(added).toMatchObject({ code: 0, stdout: expect.stringContaining("witness w1 added for installation 91") });

      // Adding the witness is itself an audit event: sign a checkpoint that includes it, then the sweep sends it.
      expect((await cli(["audit", "checkpoint", "--installation", "91"], env)).code).toBe(0);
      expect(await witnessDue({ db: t.db, fetch, now: () => now })).toEqual(["cosigned"]);
      const list = await cli(["witness", "list", "--installation", "91"], env);
      expect(list.stdout).toMatch(/^w1 {2}http:\/\/127\.0\.0\.1:\d+ {2}cosigned \d+ of \d+ {2}ok$/m);

      const kept = await cli(["audit", "checkpoint", "--installation", "91"], env);
      expect(kept.stdout).toContain(`\u2014 ${witness.name} `);
      writeFileSync(file("kept.txt"), kept.stdout);
      const exported = await cli(
        ["audit", "export", "--installation", "91", "--manifest", file("m.json"), "--output", file("91.jsonl")],
        env,
      );
      expect(exported.code).toBe(0);
      const verify = (extra: string[]) =>
        cli([
          "audit",
          "verify",
          file("91.jsonl"),
          "--manifest",
          file("m.json"),
          "--keys",
          file("keys.json"),
          "--checkpoint",
          file("kept.txt"),
          ...extra,
        ]);
      const named = await verify(["--witness", witness.vkey]);
      expect(named).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`witnesses: the checkpoint is cosigned by ${witness.name}`),
      });
      const json = await verify(["--witness", witness.vkey, "--json"]);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, cosigned_by: [witness.name] });
      const unnamed = await verify([]);
      expect(unnamed.stdout).toContain("witnesses: no witness given with --witness cosigned the checkpoint");
      expect((await verify(["--witness", "nonsense"])).code).toBe(2);

      // An inclusion proof carries the cosigned checkpoint; prove --verify names the witness too.
      const [event] = await t.db.tenant(91, (tx) =>
        tx.query<{ hash: string }>("SELECT hash FROM audit_events WHERE installation_id = 91 AND seq = 2"),
      );
      const proof = await cli(["audit", "prove", "--installation", "91", "--event", event!.hash], env);
      writeFileSync(file("proof.json"), proof.stdout);
      const proven = await cli([
        "audit",
        "prove",
        "--verify",
        file("proof.json"),
        "--keys",
        file("keys.json"),
        "--witness",
        witness.vkey,
      ]);
      expect(proven).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`witnesses: the checkpoint is cosigned by ${witness.name}`),
      });

      expect(await cli(["witness", "remove", "w1", "--installation", "91"], env)).toMatchObject({ code: 0 });
      expect((await cli(["witness", "list", "--installation", "91"], env)).stdout).toContain("no witnesses");
    });
  },
);
