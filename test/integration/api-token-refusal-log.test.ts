import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { createToken, revokeToken } from "../../src/tokens/store.ts";
import { recordInstallation } from "../../src/installations/store.ts";
import { generateToken } from "../../src/tokens/format.ts";

// An expired or revoked agent token gets the same 401 as an unknown one (a caller learns nothing), while
// the operator's log says which it was, naming the token by its display prefix only.

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, logLevel: "info" });
  await recordInstallation(t.db, { id: 61, account: "acme" }, new Date());
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

const scope = { installationId: 61, repos: null, kinds: null, admin: false, createdBy: "test" };
const get = async (token: string) => {
  const res = await fetch(`${app.url}/api/v1/proposals/prp_none`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
};

describe("a refused agent token's reason, in the log only", () => {
  it("answers expired, revoked and unknown tokens alike, and logs why a known one was refused", async () => {
    const expired = await createToken(
      t.db,
      { ...scope, expiresAt: new Date(Date.now() - 1000) },
      new Date(Date.now() - 120_000),
    );
    const revoked = await createToken(t.db, { ...scope, expiresAt: null }, new Date());
    await revokeToken(t.db, revoked.row.prefix, "test", new Date());
    const answers = [await get(expired.token), await get(revoked.token), await get(generateToken())];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);

    const lines = app.logs
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .filter((line) => String(line.msg).startsWith("agent token refused"));
    expect(lines.map((line) => [line.msg, line.reason, line.token_prefix, line.installation_id])).toEqual([
      ["agent token refused (401): it is expired", "expired", expired.row.prefix, 61],
      ["agent token refused (401): it is revoked", "revoked", revoked.row.prefix, 61],
    ]);
    const all = app.logs.join("\n");
    for (const token of [expired.token, revoked.token]) expect(all).not.toContain(token);
  });
});
