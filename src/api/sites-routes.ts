import type { IncomingMessage } from "node:http";
import { z } from "zod";
import type { Database } from "../db/database.ts";
import { ValidationError } from "../errors.ts";
import type { TxtResolver } from "../sites/dns-check.ts";
import type { FetchLike } from "../sites/file-check.ts";
import { addSite, listSites, verifySite } from "../sites/service.ts";
import { readJson, sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";

export interface SitesRouteDeps {
  db: Database;
  now: () => Date;
  /** Authenticates an admin token; the installation comes from the token, never the request. */
  requireAdmin: (req: IncomingMessage) => Promise<{ installationId: number; actor: string }>;
  resolver: TxtResolver;
  fetch?: FetchLike;
}

const AddSiteBody = z.object({
  domain: z.string({ error: "is required: a domain name such as example.com" }),
  method: z.enum(["dns", "file"], { error: 'must be "dns" or "file"' }).optional(),
});

function parseBody(body: unknown): z.infer<typeof AddSiteBody> {
  const parsed = AddSiteBody.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || "body", message: issue.message })),
  );
}

/** Site ownership for admins: add a site (its challenge), verify it now, list the installation's sites. */
export function sitesRoutes(deps: SitesRouteDeps): Route[] {
  return [
    {
      method: "POST",
      path: "/api/v1/sites",
      async handler({ req, res }) {
        const admin = await deps.requireAdmin(req);
        const body = parseBody(await readJson(req, 16 * 1024));
        const challenge = await addSite(
          deps.db,
          admin.installationId,
          body.domain,
          body.method,
          admin.actor,
          deps.now(),
        );
        sendJson(res, 201, challenge);
      },
    },
    {
      method: "POST",
      path: "/api/v1/sites/:domain/verify",
      async handler({ req, res, params }) {
        const admin = await deps.requireAdmin(req);
        const check = { resolver: deps.resolver, fetch: deps.fetch };
        const result = await verifySite(deps.db, check, admin.installationId, params.domain, admin.actor, deps.now());
        sendJson(res, 200, result);
      },
    },
    {
      method: "GET",
      path: "/api/v1/sites",
      async handler({ req, res }) {
        const admin = await deps.requireAdmin(req);
        sendJson(res, 200, { sites: await listSites(deps.db, admin.installationId) });
      },
    },
  ];
}
