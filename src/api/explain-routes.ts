import type { IncomingMessage } from "node:http";
import type { Database } from "../db/database.ts";
import { explainCommit } from "../explain/replay.ts";
import { loadLatestCommitProposal, parsePullRef } from "../explain/load.ts";
import { sendJson } from "../http/io.ts";
import type { Principal } from "../requests/auth.ts";
import { NotFoundError } from "../errors.ts";
import type { Route } from "../http/router.ts";

export interface ExplainDeps {
  db: Database;
  requireAdmin(req: IncomingMessage): Promise<Pick<Principal, "installationId" | "repos" | "kinds">>;
}

/** GET /api/v1/explain?repo=owner/name&pr=12 (admin token): replay the latest commit decision of a pull request. */
export function explainRoutes(deps: ExplainDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/api/v1/explain",
      handler: async ({ req, res, query }) => {
        const principal = await deps.requireAdmin(req);
        const { repo, pr } = parsePullRef(`${query.get("repo") ?? ""}#${query.get("pr") ?? ""}`);
        // An admin key limited to other repositories or kinds reads none of this one's decisions: the same 404.
        const scoped =
          (!principal.repos || principal.repos.some((name) => name.toLowerCase() === repo.toLowerCase())) &&
          (!principal.kinds || principal.kinds.includes("commit"));
        if (!scoped) throw new NotFoundError(`A commit decision for ${repo}#${pr}`);
        const row = await loadLatestCommitProposal(deps.db, repo, pr, principal.installationId);
        sendJson(res, 200, explainCommit(row));
      },
    },
  ];
}
