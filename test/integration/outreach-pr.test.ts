import { afterAll, beforeAll, expect, it } from "vitest";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { bearer, issueToken, seedInstallations, verifySite } from "./api-harness.ts";

const KEYS = "k1:" + Buffer.alloc(32, 9).toString("base64");
const now = new Date("2026-11-23T10:00:00.000Z");
let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  await seedInstallations(t.db, now);
  await verifySite(t.db, 1, "example.com", now);
  fake.setRepo("acme/web", { private: true, id: 11, default_branch: "main" });
  fake.setRef("acme/web", "heads/main", "a".repeat(40));
  // The keyring as start.ts hands it over (for PGlite it may live in the data dir, not the environment).
  app = await startTestApp({ db: t.db, fake, now: () => now, keyring: parseKeyring(KEYS) });
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
  await t?.drop();
});

it("opens a pull request on agent-gate/outreach/<id> adding the rendered file", async () => {
  const token = await issueToken(t.db, now);
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "outreach",
      repo: "acme/web",
      site: "example.com",
      summary: "s",
      content: { channel: "email", recipients: ["x@y.example"], body: "hi \u202Ethere" },
    }),
  });
  expect(res.status).toBe(201);
  const { id, digest } = (await res.json()) as { id: string; digest: string };
  await app.server.worker.drain();
  const [pull] = fake.pullRequests("acme/web");
  expect(pull?.head.ref).toBe(`agent-gate/outreach/${id}`);
  const [put] = fake.callsTo("PUT", "/repos/{owner}/{repo}/contents/{path}");
  const file = Buffer.from(String((put?.body as { content: string }).content), "base64").toString("utf8");
  expect(decodeURIComponent(put?.path ?? "")).toContain(`.agent-gate/outreach/${id}.md`);
  expect(file).toContain(`\`${digest}\``);
  expect(file).toContain("hi ⟦U+202E⟧there");
});

it("in a public repository, sends GitHub only the redacted summary and the review page's link", async () => {
  fake.setRepo("acme/api", { private: false, id: 12, default_branch: "main" });
  fake.setRef("acme/api", "heads/main", "b".repeat(40));
  const token = await issueToken(t.db, now);
  const before = fake.calls.length;
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "outreach",
      repo: "acme/api",
      site: "example.com",
      summary: "s",
      content: {
        channel: "email",
        recipients: ["jane.doe@private.example", "ops@corp.example"],
        subject: "Secret plans",
        body: "Dear Jane, the unlisted offer is OFR-4711-ZK.",
      },
    }),
  });
  expect(res.status).toBe(201);
  const { id, digest } = (await res.json()) as { id: string; digest: string };
  await app.server.worker.drain();

  const view = (await (await fetch(`${app.url}/api/v1/proposals/${id}`, { headers: bearer(token) })).json()) as {
    status: string;
  };
  expect(view.status).toBe("pending");
  const [pull] = fake.pullRequests("acme/api");
  expect(pull?.head.ref).toBe(`agent-gate/outreach/${id}`);
  const [put] = fake.callsTo("PUT", "/repos/{owner}/{repo}/contents/{path}").filter((c) => c.path.includes("acme/api"));
  const file = Buffer.from(String((put?.body as { content: string }).content), "base64").toString("utf8");
  const review = `https://gate.example.test/proposals/${id}`;
  for (const shown of [file, String(pull?.body)]) {
    expect(shown).toContain(`\`${digest}\``);
    expect(shown).toContain("**Recipients:** 2 · **Domains:** `corp.example`, `private.example`");
    expect(shown).toContain("**Subject:** 12 characters · **Body:** 45 bytes");
    expect(shown).toContain(review);
  }
  // The file says where the text is read, and never asks to approve text it does not show.
  expect(file).toContain(`Read the recipients and the text on the [review page](${review}) first`);
  expect(file).not.toContain("sending exactly this text");
  // Nothing sent to GitHub holds an address, the subject or the body.
  const sent = JSON.stringify(fake.calls.slice(before).map((call) => call.body)) + file;
  for (const secret of ["jane.doe", "ops@", "Secret plans", "Dear Jane", "OFR-4711-ZK"])
    expect(sent).not.toContain(secret);
});
