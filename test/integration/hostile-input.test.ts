import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken, revokeToken } from "../../src/tokens/store.ts";
import { exportAudit } from "../../src/audit/export.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { currentSigner } from "../../src/keys/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_SECRET, type TestApp } from "../support/app.ts";
import { seedInstallations, verifySite } from "./api-harness.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { dumpAllRows } from "../support/db-scan.ts";

// Hostile input against the whole app: bodies, ids and filters an attacker
// controls, and a scan of everything the app logged while it was attacked.

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
let admin: string;
let revoked: string;
const issued: string[] = [];
const now = new Date("2026-11-23T10:00:00.000Z");
const keyring = parseKeyring(generateKeyEntry("k1"));

const HOSTILE = [
  "' OR '1'='1",
  "1; DROP TABLE proposals; --",
  "x' UNION SELECT sha256 FROM agent_tokens --",
  "../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f%2e%2e%2f",
  "%2e%2e",
  "..\\..\\windows",
  "a".repeat(5000), // printed as its length below
];

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  await seedInstallations(t.db, now);
  await verifySite(t.db, 1, "example.com", now);
  token = (
    await createToken(
      t.db,
      { installationId: 1, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
      now,
    )
  ).token;
  admin = (
    await createToken(
      t.db,
      { installationId: 1, repos: null, kinds: null, admin: true, expiresAt: null, createdBy: "test" },
      now,
    )
  ).token;
  const gone = await createToken(
    t.db,
    { installationId: 1, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
    now,
  );
  revoked = gone.token;
  await revokeToken(t.db, gone.row.prefix, "test", now);
  issued.push(token, admin, revoked);
  app = await startTestApp({ db: t.db, fake, env: { AGENT_GATE_PUBLIC_URL: "https://gate.example.test" } });
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
  await t?.drop();
});

function auth(value: string): Record<string, string> {
  return { authorization: `Bearer ${value}`, "content-type": "application/json" };
}

async function proposalCount(): Promise<number> {
  const [row] = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM proposals");
  return row?.n ?? 0;
}

describe("hostile webhook bodies", () => {
  it("refuses a body over the size limit with 413 and processes nothing", async () => {
    const body = JSON.stringify({ action: "opened", padding: "x".repeat(25 * 1024 * 1024 + 1) });
    const res = await app.deliver("pull_request", undefined, { rawBody: body });
    expect(res.status).toBe(413);
    expect(await proposalCount()).toBe(0);
  });

  it("answers malformed JSON with a correct signature as 400", async () => {
    const res = await app.deliver("pull_request", undefined, { rawBody: '{"action": "opened", ' });
    expect(res.status).toBe(400);
    expect(await proposalCount()).toBe(0);
  });

  it("refuses a malformed body with a wrong signature and records no delivery", async () => {
    const res = await app.deliver("pull_request", undefined, {
      rawBody: "{not json",
      secret: "wrong-secret",
      id: "hostile-bad-sig",
    });
    expect([400, 401]).toContain(res.status);
    const rows = await t.owner
      .query("SELECT 1 FROM webhook_deliveries WHERE delivery_id = $1 AND outcome = 'processed'", ["hostile-bad-sig"])
      .catch(() => []);
    expect(rows).toHaveLength(0);
    expect(await proposalCount()).toBe(0);
  });
});

describe("hostile ids and filters in the API", () => {
  it.each(HOSTILE.map((v) => [v.length > 80 ? `${v.length} chars` : v, v]))(
    "GET /proposals/:id with %j is a 4xx, never a 5xx or a row",
    async (_label, id) => {
      const res = await fetch(`${app.url}/api/v1/proposals/${encodeURIComponent(id)}`, { headers: auth(token) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const text = await res.text();
      expect(text).not.toMatch(/agt_|syntax error|relation|at .*\.ts:/i);
    },
  );

  it.each(HOSTILE.map((v) => [v.length > 80 ? `${v.length} chars` : v, v]))(
    "POST /proposals/:id/redeem with %j is a 4xx",
    async (_label, id) => {
      const res = await fetch(`${app.url}/api/v1/proposals/${encodeURIComponent(id)}/redeem`, {
        method: "POST",
        headers: auth(token),
        body: JSON.stringify({ digest: id }),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    },
  );

  it.each([
    ["GET", "/api/v1/proposals/prp_%00null"],
    ["GET", "/api/v1/proposals/prp_%0Anewline"],
    ["GET", "/api/v1/proposals/prp_%E0%A4%A"],
    ["POST", "/api/v1/proposals/prp_%00null/redeem"],
    ["POST", "/api/v1/sites/example.com%00.evil/verify"],
  ])(
    "%s %s (NUL, control character, broken percent-encoding) is a 400 before storage is touched",
    async (method, path) => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: auth(method === "GET" ? token : admin),
        ...(method === "POST" ? { body: JSON.stringify({ digest: "a".repeat(40) }) } : {}),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    },
  );

  it("a NUL byte inside a proposal body is a 4xx, never a 5xx or a row", async () => {
    const before = await proposalCount();
    const res = await fetch(`${app.url}/api/v1/proposals`, {
      method: "POST",
      headers: auth(token),
      body: JSON.stringify({ kind: "commit", repo: "acme/web", sha: "b".repeat(40), summary: "hello\u0000world" }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await proposalCount()).toBe(before);
  });

  it.each(["repo", "action"])("audit export route refuses a NUL byte in %s with 400", async (field) => {
    const res = await fetch(`${app.url}/api/v1/audit/export?${field}=x%00y`, { headers: auth(admin) });
    expect(res.status).toBe(400);
    await res.text();
  });

  it("a raw ../ path does not reach another route or file", async () => {
    for (const path of [
      "/api/v1/proposals/../../../etc/passwd",
      "/api/v1/proposals/%2e%2e/%2e%2e/openapi.json",
      "/api/v1/proposals/..%2f..%2fsites",
    ]) {
      const res = await fetch(`${app.url}${path}`, { headers: auth(token) });
      const text = await res.text();
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(text, path).not.toContain("root:");
    }
  });

  it.each(HOSTILE.map((v) => [v.length > 80 ? `${v.length} chars` : v, v]))(
    "POST /sites/:domain/verify and POST /sites with %j are 4xx",
    async (_label, domain) => {
      const verify = await fetch(`${app.url}/api/v1/sites/${encodeURIComponent(domain)}/verify`, {
        method: "POST",
        headers: auth(admin),
        body: "{}",
      });
      expect(verify.status).toBeGreaterThanOrEqual(400);
      expect(verify.status).toBeLessThan(500);
      const add = await fetch(`${app.url}/api/v1/sites`, {
        method: "POST",
        headers: auth(admin),
        body: JSON.stringify({ domain, method: "dns" }),
      });
      expect(add.status).toBe(400);
    },
  );

  it.each(["repo", "action"])("audit export filter %s with injection strings matches nothing", async (field) => {
    // The test app runs without a keyring (the route would answer 503), so the export is driven directly.
    const signer = await currentSigner(t.db, keyring, now);
    for (const value of HOSTILE.slice(0, 6)) {
      const out = exportAudit(t.db, { installationId: 1, format: "jsonl", [field]: value }, signer, now);
      let text = "";
      for await (const chunk of out.body) text += chunk;
      const manifest = await out.manifest;
      expect(manifest.count, value).toBe(0);
      expect(text, value).toBe("");
    }
  });

  it.each(["since", "until"])("audit export route refuses injection strings in %s with 400", async (field) => {
    for (const value of HOSTILE.slice(0, 6)) {
      const res = await fetch(`${app.url}/api/v1/audit/export?${field}=${encodeURIComponent(value)}`, {
        headers: auth(admin),
      });
      expect(res.status, value).toBe(400);
      await res.text();
    }
  });

  it("leaves the schema and the data intact after all of that", async () => {
    const [row] = await t.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM agent_tokens");
    expect(row?.n).toBe(3);
    const sites = await t.owner.query<{ domain: string }>("SELECT domain FROM sites");
    expect(sites.map((s) => s.domain)).toEqual(["example.com"]);
  });
});

describe("tokens", () => {
  it("answers an unknown and a revoked token identically", async () => {
    const unknown = `agt_${"A".repeat(revoked.length - 4)}`;
    const answers = [];
    for (const value of [unknown, revoked]) {
      const res = await fetch(`${app.url}/api/v1/proposals/prp_x`, { headers: auth(value) });
      answers.push({ status: res.status, body: await res.text(), auth: res.headers.get("www-authenticate") });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]!.status).toBe(401);
  });
});

describe("log output", () => {
  it("never holds the webhook secret, an agent token, a private key or an installation token", async () => {
    // Exercise the GitHub path too, so installation tokens were fetched while logging at debug.
    const pr = example("pull_request", "opened", 1);
    pr.pull_request.user = { ...pr.pull_request.user, login: "helper[bot]", type: "Bot" };
    pr.sender = { ...pr.sender, login: "helper[bot]", type: "Bot" };
    expect((await app.deliver("pull_request", pr)).status).toBe(200);
    await app.server.worker.drain();
    expect(fake.calls.some((call) => call.path.includes("access_tokens"))).toBe(true);
    const all = app.logs.join("");
    expect(all.length).toBeGreaterThan(0);
    expect(secretsIn(all, [TEST_SECRET, ...issued])).toEqual([]);
  });

  it("leaves no token, webhook secret or key in any database row", async () => {
    const rows = await dumpAllRows(t.owner);
    expect(rows).toContain("webhook.received");
    expect(
      secretsIn(rows, [
        TEST_SECRET,
        ...issued,
        ...[...keyring.keys.values()].map((key) => Buffer.from(key).toString("base64")),
      ]),
    ).toEqual([]);
  });
});
