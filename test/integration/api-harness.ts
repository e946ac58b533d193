import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Router } from "../../src/http/router.ts";
import { apiRoutes } from "../../src/api/routes.ts";
import type { RequestDeps } from "../../src/requests/deps.ts";
import { createToken, type TokenScope } from "../../src/tokens/store.ts";
import type { Database } from "../../src/db/database.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { DecisionWaiter } from "../../src/proposals/wait.ts";
import { readSettings } from "../../src/config/settings.ts";

/** A fixed, movable clock. */
export class Clock {
  current: Date;
  constructor(iso: string) {
    this.current = new Date(iso);
  }
  now = (): Date => new Date(this.current.getTime());
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface ApiServer {
  url: string;
  deps: RequestDeps;
  close(): Promise<void>;
}

/** The API routes on a node:http server on loopback, as the app wires them. */
export async function startApi(
  o: Omit<RequestDeps, "waiter" | "settings"> & { waiter?: DecisionWaiter; env: NodeJS.ProcessEnv },
): Promise<ApiServer> {
  const { env, ...deps } = o;
  // The environment as the app reads it, once, into its settings.
  const full: RequestDeps = {
    ...deps,
    settings: readSettings(env),
    waiter: deps.waiter ?? new DecisionWaiter(deps.db),
  };
  const router = new Router().add(...apiRoutes(full));
  const server: Server = createServer((req, res) => {
    void router.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps: full,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await full.waiter.close();
    },
  };
}

/** Installation 1 (acme: web, api) and installation 2 (other: app). */
export async function seedInstallations(db: Database, now: Date): Promise<void> {
  await recordInstallation(db, { id: 1, account: "acme" }, now);
  await recordRepositories(
    db,
    1,
    [
      { id: 11, full_name: "acme/web" },
      { id: 12, full_name: "acme/api" },
    ],
    [],
    now,
  );
  await recordInstallation(db, { id: 2, account: "other" }, now);
  await recordRepositories(db, 2, [{ id: 21, full_name: "other/app" }], [], now);
}

export async function issueToken(db: Database, now: Date, scope: Partial<TokenScope> = {}): Promise<string> {
  const { token } = await createToken(
    db,
    { installationId: 1, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test", ...scope },
    now,
  );
  return token;
}

/** A site verified for the installation, as the sites engine records it. */
export async function verifySite(db: Database, installationId: number, domain: string, now: Date): Promise<void> {
  await db.tenant(installationId, (tx) =>
    tx.query(
      `INSERT INTO sites (installation_id, domain, method, token, state, verified_at, last_checked_at, created_at)
       VALUES ($1, $2, 'dns', $3, 'verified', $4, $4, $4)`,
      [installationId, domain, "A".repeat(32), now],
    ),
  );
}

export function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, "content-type": "application/json", ...extra };
}
