import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { runCli } from "../support/cli.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";

// The embedded database keeps its key in <data dir>/keyring. Setting AGENT_GATE_KEYS replaces that file:
// the refusal says where the missing key is and how to keep both; following it works. The CLI runs in process,
// in a working directory of the test's own, so the data dir is the default one there.

const cwd = mkdtempSync(join(tmpdir(), "agent-gate-keyring-message-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const base = { PATH: process.env.PATH, HOME: process.env.HOME };
const cli = (args: string[], dir: string, env: NodeJS.ProcessEnv) => runCli(args, env, { cwd: dir });

describe.runIf(backend() === "pglite")(
  "AGENT_GATE_KEYS over the embedded database's keyring file",
  { timeout: 120_000 },
  () => {
    it("names the file, says the variable replaces it, and how to keep both keys", async () => {
      expect((await cli(["migrate"], cwd, base)).code).toBe(0);
      const first = await cli(["keys", "rotate", "--json"], cwd, base);
      expect(first.code, first.stderr).toBe(0);
      const file = join(cwd, ".agent-gate/data/keyring");
      const line = readFileSync(file, "utf8").trim();
      const fileKid = line.split(":")[0]!;

      const mine = generateKeyEntry("mine");
      const refused = await cli(["keys", "rotate"], cwd, { ...base, AGENT_GATE_KEYS: mine });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `uses key ${fileKid}, which is not in AGENT_GATE_KEYS; the embedded database's key ${fileKid} is in ${file}, and AGENT_GATE_KEYS replaces that file`,
      );
      expect(refused.stderr).toContain(
        `To keep both keys, set AGENT_GATE_KEYS to your key followed by the file's line (current key first: AGENT_GATE_KEYS=<your key>,<the line in ${file}>)`,
      );
      expect(refused.stderr).not.toContain(line.split(":")[1]!);

      const both = await cli(["keys", "rotate", "--json"], cwd, { ...base, AGENT_GATE_KEYS: `${mine},${line}` });
      expect(both.code, both.stderr).toBe(0);
      expect(JSON.parse(both.stdout)).toMatchObject({ keyring_key: "mine" });
    });
  },
);
