import { stored } from "../../requests/auth.ts";
import type { RequestDeps } from "../../requests/deps.ts";
import { siteStanding } from "../../sites/policy.ts";
import { listSites } from "../../sites/service.ts";
import { listSitesInput } from "../schemas.ts";
import { tool, type Tool } from "../tool.ts";

/** `list_sites`: the installation's verified sites, the only ones a proposal may name. */
export function listSitesTool(deps: RequestDeps): Tool {
  return tool({
    name: "list_sites",
    title: "List verified sites",
    description:
      "List the sites verified for this installation. A deploy or outreach proposal must name one of them as its site; " +
      "a site that is missing here must first be verified by an admin (agent-gate site add / verify).",
    input: listSitesInput,
    readOnly: true,
    async run({ principal }) {
      const now = deps.now();
      const sites = await stored(() => listSites(deps.db, principal.installationId));
      const date = (value: string | null) => (value ? new Date(value) : null);
      return {
        sites: sites
          .filter(
            (site) =>
              siteStanding(
                { state: site.state, verified_at: date(site.verified_at), failing_since: date(site.failing_since) },
                now,
              ) === "verified",
          )
          .map((site) => ({
            domain: site.domain,
            method: site.method,
            verified_at: site.verified_at,
            last_checked_at: site.last_checked_at,
          })),
      };
    },
  });
}
