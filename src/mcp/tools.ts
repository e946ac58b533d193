import type { RequestDeps } from "../requests/deps.ts";
import type { Tool } from "./tool.ts";
import { getProposalTool } from "./tools/get-proposal.ts";
import { listSitesTool } from "./tools/list-sites.ts";
import { proposeDeployTool } from "./tools/propose-deploy.ts";
import { proposeOutreachTool } from "./tools/propose-outreach.ts";
import { redeemApprovalTool } from "./tools/redeem-approval.ts";

/** The tools an agent may call, in the order tools/list shows them, bound to the app's dependencies. */
export function mcpTools(deps: RequestDeps): Tool[] {
  return [
    listSitesTool(deps),
    proposeDeployTool(deps),
    proposeOutreachTool(deps),
    getProposalTool(deps),
    redeemApprovalTool(deps),
  ];
}
