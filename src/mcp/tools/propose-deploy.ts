import { parseProposalBody } from "../../proposals/submit.ts";
import type { RequestDeps } from "../../requests/deps.ts";
import { proposalSubmitter } from "../../requests/submit.ts";
import { reviewPageUrl } from "../../requests/view.ts";
import { proposeDeployInput } from "../schemas.ts";
import { tool, type Tool } from "../tool.ts";

/** `propose_deploy`: ask for one commit to be deployed to one environment of a verified site. */
export function proposeDeployTool(deps: RequestDeps): Tool {
  const submit = proposalSubmitter(deps);
  return tool({
    name: "propose_deploy",
    title: "Propose a deploy",
    description:
      "Ask a person to approve deploying one commit to one environment of a verified site. Nothing is deployed by this call: " +
      "it creates a pending proposal and a check run with Approve / Reject buttons. Give the review link to the person who decides, " +
      "then call get_proposal with wait_seconds until the status is no longer pending, and redeem_approval before deploying.",
    input: proposeDeployInput,
    readOnly: false,
    async run({ principal }, args) {
      const row = await submit(principal, parseProposalBody({ kind: "deploy", ...args }));
      deps.log?.info({ proposal: row.id, kind: row.kind, repo: row.repo, via: "mcp" }, "proposal created");
      return {
        id: row.id,
        kind: row.kind,
        repo: row.repo,
        environment: row.environment,
        site: row.site,
        digest: row.digest,
        status: row.status,
        expires_at: row.expires_at.toISOString(),
        url: reviewPageUrl(deps, row.id),
      };
    },
  });
}
