import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Router } from "../../src/http/router.ts";
import { sitesRoutes } from "../../src/api/sites-routes.ts";
import { readAudit } from "../../src/audit/log.ts";
import { UnauthorizedError } from "../../src/errors.ts";
import { createResolver } from "../../src/sites/dns-check.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";

const now = new Date("2026-11-23T09:00:00Z");
/** Admin bearer tokens of this test and the installation each stands for. */
const ADMINS: Record<string, number> = { "admin-one": 1, "admin-two": 2 };

let t: TestDatabase;
let dns: TestDnsServer;
let server: Server;
let base: string;

async function requireAdmin(req: IncomingMessage): Promise<{ installationId: number; actor: string }> {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  const installationId = token === undefined ? undefined : ADMINS[token];
  if (installationId === undefined) throw new UnauthorizedError();
  return { installationId, actor: `admin:${installationId}` };
}

beforeAll(async () => {
  [t, dns] = await Promise.all([createTestDatabase(), startDnsServer()]);
  const router = new Router().add(
    ...sitesRoutes({
      db: t.db,
      now: () => now,
      requireAdmin,
      resolver: createResolver({ servers: dns.address, timeoutMs: 300, tries: 1 }),
    }),
  );
  server = createServer((req, res) => {
    void router.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await Promise.all([t.drop(), dns.stop()]);
});
beforeEach(() => dns.reset());

async function call(method: string, path: string, token: string | undefined, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("/api/v1/sites", () => {
  it("returns the challenge, verifies it and lists the site for the admin's installation only", async () => {
    const added = await call("POST", "/api/v1/sites", "admin-one", { domain: "Shop.Example." });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      domain: "shop.example",
      method: "dns",
      record_name: "_agent-gate.shop.example",
      file_url: "https://shop.example/.well-known/agent-gate-verification.txt",
    });
    const value = added.body.record_value as string;
    expect(value).toBe(`agent-gate-verification=${added.body.token as string}`);

    const early = await call("POST", "/api/v1/sites/shop.example/verify", "admin-one");
    expect(early).toMatchObject({
      status: 200,
      body: { domain: "shop.example", state: "pending", outcome: "not_found" },
    });

    dns.set("_agent-gate.shop.example", { txt: [[value]] });
    const verified = await call("POST", "/api/v1/sites/SHOP.example/verify", "admin-one");
    expect(verified).toMatchObject({ status: 200, body: { state: "verified", outcome: "verified" } });

    const mine = await call("GET", "/api/v1/sites", "admin-one");
    expect(mine.status).toBe(200);
    expect(mine.body.sites).toEqual([
      expect.objectContaining({
        installation_id: 1,
        domain: "shop.example",
        state: "verified",
        last_outcome: "verified",
      }),
    ]);
    expect(await call("GET", "/api/v1/sites", "admin-two")).toEqual({ status: 200, body: { sites: [] } });

    const theirs = await call("POST", "/api/v1/sites/shop.example/verify", "admin-two");
    expect(theirs.status).toBe(404);
    expect((theirs.body.error as { message: string }).message).toContain(
      "agent-gate site add shop.example --installation 2",
    );

    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    expect(events.map((event) => [event.action, event.outcome, event.actor])).toEqual([
      ["site.added", "created", "admin:1"],
      ["site.check_failed", "not_found", "admin:1"],
      ["site.verified", "verified", "admin:1"],
    ]);
  });

  it.each([
    [{ domain: "github.io" }, "public suffix"],
    [{ domain: "https://example.com/" }, "bare domain name"],
    [{ method: "dns" }, "domain:"],
    [{ domain: "example.com", method: "email" }, 'method: must be "dns" or "file"'],
    ["{not json", "must be valid JSON"],
  ])("answers 400 to %j", async (body, message) => {
    const response = await call("POST", "/api/v1/sites", "admin-one", body);
    expect(response.status).toBe(400);
    expect((response.body.error as { message: string }).message).toContain(message);
  });

  it("refuses callers without an admin token", async () => {
    expect((await call("POST", "/api/v1/sites", undefined, { domain: "x.example" })).status).toBe(401);
    expect((await call("GET", "/api/v1/sites", "someone")).status).toBe(401);
    expect((await call("POST", "/api/v1/sites/x.example/verify", undefined)).status).toBe(401);
  });
});
