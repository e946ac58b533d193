import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";

// A private key that parses and signs, but that GitHub refuses (another App's, or revoked on GitHub):
// /readyz must not say ready. The delivery-log sweep asks GitHub as the App; its 401 is the signal.

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, logLevel: "silent" });
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

const readiness = async () => {
  const res = await fetch(`${app.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
};

describe("readiness and the App's credentials", () => {
  it("is not ready while GitHub refuses the App's JWT, and the check clears once it accepts it", async () => {
    // (This test app may run without its outbox worker; only the App's credentials are looked at here.)
    expect((await readiness()).body.checks.github_app).toBe("ok");
    let refuse = true;
    fake.on("GET", "/app/hook/deliveries", () =>
      refuse
        ? {
            status: 401,
            body: {
              message: "A JSON web token could not be decoded",
              documentation_url: "https://docs.github.com/rest",
            },
          }
        : { status: 200, body: [] },
    );
    await app.server.recover().catch(() => undefined);
    const refused = await readiness();
    expect(refused.status).toBe(503);
    expect(refused.body.checks.github_app).toMatch(
      /^GitHub refused the App's credentials \(401: A JSON web token could not be decoded.*\): check that APP_ID and PRIVATE_KEY belong to the same App$/,
    );

    refuse = false;
    await app.server.recover();
    expect((await readiness()).body.checks.github_app).toBe("ok");
  });
});
