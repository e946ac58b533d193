import type { ApiDeps } from "./proposals-routes.ts";
import { guardStorage, requireAdmin } from "./auth.ts";
import { sendJson } from "./http.ts";
import type { Route } from "./router.ts";
import { rotateToken, tokenState } from "./token-store.ts";

/**
 * Token administration over HTTP for admin tokens: rotate a token of the
 * caller's own installation. A token of another installation is the same 404
 * as one that does not exist.
 */
export function tokensRoutes(deps: Pick<ApiDeps, "db" | "now" | "settings">): Route[] {
  return [
    {
      method: "POST",
      path: "/api/v1/tokens/:prefix/rotate",
      handler: async ({ req, res, params }) => {
        const admin = await requireAdmin(deps, req);
        const now = deps.now();
        const { token, row, previous } = await guardStorage(
          () => rotateToken(deps.db, params.prefix ?? "", admin.actor, now, { installationId: admin.installationId }),
          "Storage is unavailable; nothing was changed. Try again.",
        );
        sendJson(res, 201, {
          token,
          prefix: row.prefix,
          name: row.name,
          installation_id: row.installation_id,
          repos: row.repos,
          kinds: row.kinds,
          admin: row.admin,
          state: tokenState(row, now),
          expires_at: row.expires_at?.toISOString() ?? null,
          rotated_from: previous.prefix,
        });
      },
    },
  ];
}
