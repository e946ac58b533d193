import { sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { requireAdmin, stored } from "../requests/auth.ts";
import type { RequestDeps } from "../requests/deps.ts";
import { rotateToken } from "../tokens/store.ts";
import { tokenView } from "../tokens/view.ts";

/**
 * Token administration over HTTP for admin tokens: rotate a token of the
 * caller's own installation. A token of another installation is the same 404
 * as one that does not exist.
 */
export function tokensRoutes(deps: Pick<RequestDeps, "db" | "now" | "settings">): Route[] {
  return [
    {
      method: "POST",
      path: "/api/v1/tokens/:prefix/rotate",
      handler: async ({ req, res, params }) => {
        const admin = await requireAdmin(deps, req);
        const now = deps.now();
        const { token, row, previous } = await stored(() =>
          rotateToken(deps.db, params.prefix ?? "", admin.actor, now, { installationId: admin.installationId }),
        );
        sendJson(res, 201, { token, ...tokenView(row, now), rotated_from: previous.prefix });
      },
    },
  ];
}
