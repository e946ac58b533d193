import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi.ts";
import { apiRoutes } from "../../src/api/routes.ts";
import { readAudit } from "../../src/audit/log.ts";
import { canonicalJson } from "../../src/canonical-json.ts";
import { recordRepositories, suspendInstallation, unsuspendInstallation } from "../../src/installations/store.ts";
import { DecisionWaiter } from "../../src/proposals/wait.ts";
import { createHash } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { readSettings } from "../../src/config/settings.ts";
import { Clock, bearer, issueToken, seedInstallations, startApi, verifySite, type ApiServer } from "./api-harness.ts";

let t: TestDatabase;
let api: ApiServer;
let token: string;
const clock = new Clock("2026-11-23T10:00:00.000Z");
const SHA = "0123456789abcdef0123456789abcdef01234567";
const deploy = {
  kind: "deploy",
  repo: "acme/web",
  sha: SHA,
  environment: "production",
  site: "example.com",
  summary: "release 1.2",
};

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  await verifySite(t.db, 1, "example.com", clock.now());
  await verifySite(t.db, 2, "other.example", clock.now());
  token = await issueToken(t.db, clock.now());
  api = await startApi({ db: t.db, now: clock.now, env: { AGENT_GATE_PUBLIC_URL: "https://gate.example/" } });
});
afterAll(async () => {
  await api.close();
  await t.drop();
});

async function post(body: unknown, as = token, path = "/api/v1/proposals"): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: "POST",
    headers: bearer(as),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("POST /api/v1/proposals", () => {
  it("creates a pending deploy proposal with its audit event and queued check run, in one go", async () => {
    const res = await post({ ...deploy, site: "Example.COM." });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, string>;
    const digest = createHash("sha256")
      .update(
        canonicalJson({ kind: "deploy", repo: "acme/web", sha: SHA, environment: "production", site: "example.com" }),
      )
      .digest("hex");
    expect(created).toEqual({
      id: expect.stringMatching(/^prp_[0-9A-Za-z]{20}$/),
      kind: "deploy",
      repo: "acme/web",
      digest,
      status: "pending",
      expires_at: "2026-11-26T10:00:00.000Z",
      url: `https://gate.example/proposals/${created.id}`,
    });
    const outbox = await t.owner.query(
      "SELECT installation_id, operation, coalesce_key, priority, payload FROM outbox WHERE coalesce_key = $1",
      [`proposal:${created.id}`],
    );
    expect(outbox).toEqual([
      {
        installation_id: 1,
        operation: "check_run.sync",
        coalesce_key: `proposal:${created.id}`,
        priority: 1,
        payload: { proposal_id: created.id },
      },
    ]);
    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    const event = events.find((e) => e.subject === created.id);
    expect(event).toMatchObject({
      action: "proposal.created",
      outcome: "pending",
      actor: `token:${token.slice(0, 8)}`,
      repo: "acme/web",
    });
    expect(event?.data).toMatchObject({ digest, site: "example.com", environment: "production" });
  });

  it("names every field at fault", async () => {
    const res = await post({ kind: "deploy", repo: "not a repo", sha: "abc", summary: "", extra: 1 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; fields: { field: string }[] } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.fields.map((f) => f.field).sort()).toEqual([
      "environment",
      "extra",
      "repo",
      "sha",
      "site",
      "summary",
    ]);
  });

  it.each([
    [
      "deploy without environment and site",
      { kind: "deploy", repo: "acme/web", sha: SHA, summary: "x" },
      ["environment", "site"],
    ],
    ["an unknown kind", { kind: "delete", repo: "acme/web", summary: "x" }, ["kind"]],
    ["outreach without a site", { kind: "outreach", repo: "acme/web", summary: "x", content: "hi" }, ["site"]],
    ["a public suffix as site", { ...deploy, site: "co.uk" }, ["site"]],
    ["content on a deploy", { ...deploy, content: "x" }, ["content"]],
    ["a body that is not an object", [1, 2], ["body"]],
  ])("refuses %s with 400", async (_name, body, fields) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { fields: { field: string; message: string }[] } };
    expect(answer.error.fields.map((f) => f.field)).toEqual(fields);
  });

  it("says what an outreach proposal needs", async () => {
    const res = await post({ kind: "outreach", repo: "acme/web", summary: "x" });
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "site: is required for outreach proposals: the verified site the outreach is sent for; content: is required for outreach proposals: {channel, recipients, subject?, body}",
    );
  });

  it("refuses malformed JSON with 400 and an oversized body with 413", async () => {
    const bad = await post("{not json");
    expect(bad.status).toBe(400);
    const big = await post({ ...deploy, summary: "x".repeat(70 * 1024) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("answers a repository outside the token's scope exactly like one that does not exist", async () => {
    const scoped = await issueToken(t.db, clock.now(), { repos: ["acme/api"] });
    const answers = await Promise.all([
      post(deploy, scoped), // a repository of the installation, outside the token's repos
      post({ ...deploy, repo: "other/app" }, token), // another installation's repository
      post({ ...deploy, repo: "acme/nothing" }, token), // no such repository
    ]);
    const bodies = await Promise.all(
      answers.map(async (res) => ({ status: res.status, body: (await res.json()) as { error: { code: string } } })),
    );
    for (const answer of bodies) expect(answer.status).toBe(404);
    expect(bodies[0]?.body.error.code).toBe("not_found");
    expect(JSON.stringify(bodies[1]?.body).replace("other/app", "R")).toBe(
      JSON.stringify(bodies[2]?.body).replace("acme/nothing", "R"),
    );
    expect(JSON.stringify(bodies[0]?.body).replace("acme/web", "R")).toBe(
      JSON.stringify(bodies[2]?.body).replace("acme/nothing", "R"),
    );
  });

  it("refuses a kind outside the token's kinds with 403", async () => {
    const outreachOnly = await issueToken(t.db, clock.now(), { kinds: ["outreach"] });
    const res = await post(deploy, outreachOnly);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden_kind");
  });

  it("refuses a commit proposal (commit proposals come from pull requests only) with 400 naming kind, writes nothing and audits why", async () => {
    const before = await t.owner.query<{ p: number; o: number }>(
      "SELECT (SELECT count(*) FROM proposals)::int8 AS p, (SELECT count(*) FROM outbox)::int8 AS o",
    );
    const res = await post({ kind: "commit", repo: "acme/web", sha: SHA, summary: "fix" });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as {
      error: { code: string; message: string; fields: { field: string; message: string }[] };
    };
    expect(answer.error.code).toBe("invalid_request");
    expect(answer.error.fields.map((f) => f.field)).toEqual(["kind"]);
    expect(answer.error.message).toMatch(/pull request/);
    const after = await t.owner.query<{ p: number; o: number }>(
      "SELECT (SELECT count(*) FROM proposals)::int8 AS p, (SELECT count(*) FROM outbox)::int8 AS o",
    );
    expect(after).toEqual(before);
    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    expect(events.at(-1)).toMatchObject({
      action: "proposal.refused",
      outcome: "refused",
      actor: `token:${token.slice(0, 8)}`,
      actor_is_agent: true,
      repo: "acme/web",
      data: { reason: "kind_not_accepted", kind: "commit", via: "token" },
    });
    const kind = (
      openApiDocument as unknown as {
        components: { schemas: { NewProposal: { properties: { kind: { enum: string[]; description: string } } } } };
      }
    ).components.schemas.NewProposal.properties.kind;
    expect(kind.enum).toEqual(["deploy", "outreach"]);
    expect(kind.description).toMatch(/commit is refused/);
  });

  it("refuses a site not verified for this installation, writing nothing", async () => {
    const before = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM outbox");
    const res = await post({ ...deploy, site: "other.example" });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("site_not_verified");
    const after = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM outbox");
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});

describe("reviewer-visible text", () => {
  it.each([
    ["environment", { environment: "prod\u202Euction" }, "U+202E"],
    ["summary", { summary: "release\u200B 1.2" }, "U+200B"],
    ["summary", { summary: "line one\u2028line two" }, "U+2028"],
    ["summary", { summary: "two\nlines" }, "U+000A"],
    ["site", { site: "exa\u200Dmple.com" }, "U+200D"],
  ] as const)(
    "refuses a control or format character in %s with 400 naming the field, storing nothing",
    async (field, change, code) => {
      const count = async () =>
        (await t.db.tenant(1, (tx) => tx.query<{ n: number }>("SELECT count(*)::int AS n FROM proposals")))[0]?.n;
      const before = await count();
      const res = await post({ ...deploy, ...change });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; fields: { field: string; message: string }[] } };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.fields).toContainEqual({ field, message: expect.stringContaining(`found ${code}`) });
      expect(await count()).toBe(before);
    },
  );
});

describe("GET /api/v1/proposals/:id", () => {
  it("answers a pending proposal at once without wait, and 404 to another installation", async () => {
    const created = (await (await post(deploy)).json()) as { id: string };
    const res = await fetch(`${api.url}/api/v1/proposals/${created.id}`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: created.id,
      status: "pending",
      kind: "deploy",
      repo: "acme/web",
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      approvers: [],
      decided_at: null,
      reason: null,
      expires_at: "2026-11-26T10:00:00.000Z",
      redeemed: false,
      redeemed_at: null,
    });
    const stranger = await issueToken(t.db, clock.now(), { installationId: 2 });
    const other = await fetch(`${api.url}/api/v1/proposals/${created.id}`, { headers: bearer(stranger) });
    expect(other.status).toBe(404);
    const outOfRepoScope = await issueToken(t.db, clock.now(), { repos: ["acme/api"] });
    expect((await fetch(`${api.url}/api/v1/proposals/${created.id}`, { headers: bearer(outOfRepoScope) })).status).toBe(
      404,
    );
  });

  it.each(["61", "-1", "abc", "1.5", "100"])("refuses wait=%s with 400 naming wait", async (wait) => {
    const res = await fetch(`${api.url}/api/v1/proposals/prp_00000000000000000000?wait=${wait}`, {
      headers: bearer(token),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { fields: { field: string }[] } }).error.fields[0]?.field).toBe("wait");
  });
});

describe("installation lifecycle", () => {
  it("rejects pending proposals of a removed repository as uninstalled, and 404s it from then on", async () => {
    const created = (await (await post({ ...deploy, repo: "acme/api" })).json()) as { id: string };
    const kept = (await (await post(deploy)).json()) as { id: string };
    await recordRepositories(t.db, 1, [], [{ id: 12, full_name: "acme/api" }], clock.now());
    const res = await fetch(`${api.url}/api/v1/proposals/${created.id}`, { headers: bearer(token) });
    expect(await res.json()).toMatchObject({
      status: "rejected",
      reason: "uninstalled",
      decided_at: clock.now().toISOString(),
    });
    const still = await fetch(`${api.url}/api/v1/proposals/${kept.id}`, { headers: bearer(token) });
    expect(await still.json()).toMatchObject({ status: "pending" });
    expect((await post({ ...deploy, repo: "acme/api" })).status).toBe(404);
    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    expect(events.filter((e) => e.subject === created.id).map((e) => [e.action, e.data.reason ?? null])).toEqual([
      ["proposal.created", null],
      ["proposal.rejected", "uninstalled"],
    ]);
  });

  it("stops every token of a suspended installation until it is unsuspended", async () => {
    const pending = (await (await post(deploy)).json()) as { id: string };
    await suspendInstallation(t.db, 1, clock.now());
    expect((await post(deploy)).status).toBe(401);
    await unsuspendInstallation(t.db, 1, clock.now());
    const res = await fetch(`${api.url}/api/v1/proposals/${pending.id}`, { headers: bearer(token) });
    expect(await res.json()).toMatchObject({ status: "rejected", reason: "uninstalled" });
  });
});

describe("OpenAPI description", () => {
  it("describes exactly the routes apiRoutes serves", async () => {
    const routes = apiRoutes({
      db: t.db,
      now: clock.now,
      settings: readSettings({}),
      waiter: new DecisionWaiter(t.db),
    });
    const served = routes.map((route) => `${route.method} ${route.path.replace(/:([a-z_]+)/g, "{$1}")}`).sort();
    const described = Object.entries(openApiDocument.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(described).toEqual(served);
    const res = await fetch(`${api.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });
});
