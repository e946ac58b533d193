import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { keyIdsInUse } from "../../src/keys/in-use.ts";
import { rotateSigningKey } from "../../src/keys/store.ts";

const OLD = generateKeyEntry("kold");
const NEW = generateKeyEntry("knew");

/**
 * The CLI in this process: it sees the replicas (separate processes) only through their heartbeat rows in the
 * database, as from any other host.
 */
const cli = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, cliEnv(env));

describe.skipIf(backend() === "pglite")("key rotation with two replicas running", { timeout: 240_000 }, () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  const running: ProcessApp[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
  });
  afterAll(async () => {
    await Promise.all(running.map((app) => app.stop("SIGKILL")));
    await fake?.close();
    await t?.drop();
  });

  const start = (keys: string) =>
    startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: t.url!,
      env: { AGENT_GATE_KEYS: keys },
    }).then((app) => {
      running.push(app);
      return app;
    });

  it("refuses while a live replica lacks the new key, naming it, and rotates once every replica holds it", async () => {
    const [a, b] = await Promise.all([start(OLD), start(`${OLD},${NEW}`)]);
    expect(await keyIdsInUse(t.db)).toEqual(new Set(["kold"]));

    const refused = await cli(["keys", "rotate"], { DATABASE_URL: t.url!, AGENT_GATE_KEYS: `${NEW},${OLD}` });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("do not hold key knew");
    expect(refused.stderr).toMatch(new RegExp(`pid ${a!.child.pid}|pid \\d+, keys kold\\)`));
    expect(refused.stderr).not.toMatch(/keys knew, kold\)/); // b holds both and is not named
    expect(await keyIdsInUse(t.db)).toEqual(new Set(["kold"]));
    // Nothing changed: both replicas still answer ready.
    for (const app of [a!, b!]) expect((await fetch(`${app.url}/readyz`)).status).toBe(200);

    // Step 1 of the procedure on the replica that lacked it: the new key as a second entry.
    await a!.stop();
    const a2 = await start(`${OLD},${NEW}`);
    const rotated = await cli(["keys", "rotate", "--json"], {
      DATABASE_URL: t.url!,
      AGENT_GATE_MIGRATION_DATABASE_URL: t.ownerUrl!,
      AGENT_GATE_KEYS: `${NEW},${OLD}`,
    });
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ keyring_key: "knew" });
    expect((await keyIdsInUse(t.db)).has("knew")).toBe(true);
    // Both replicas can open what is now sealed under the new key.
    for (const app of [a2, b!]) {
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.keyring).toBe("ok");
    }
  });
});

describe("/readyz and the keyring", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
  });
  afterAll(async () => {
    await fake.close();
    await t.drop();
  });

  it("is not ready when a key id some stored value is sealed under is missing from the keyring", async () => {
    const app = await startTestApp({ db: t.db, fake, keyring: parseKeyring(OLD) });
    try {
      expect(
        ((await (await fetch(`${app.url}/readyz`)).json()) as { checks: Record<string, string> }).checks.keyring,
      ).toBe("ok");
      // A rotation run elsewhere while this replica still runs with the old keyring alone.
      await rotateSigningKey(t.db, parseKeyring(`${NEW},${OLD}`), new Date());
      const res = await fetch(`${app.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { checks: Record<string, string> };
      expect(body.checks.keyring).toBe("missing key ids: knew");
    } finally {
      await app.close();
    }
    const holding = await startTestApp({ db: t.db, fake, keyring: parseKeyring(`${OLD},${NEW}`) });
    try {
      const body = (await (await fetch(`${holding.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(body.checks.keyring).toBe("ok");
    } finally {
      await holding.close();
    }
  });
});
