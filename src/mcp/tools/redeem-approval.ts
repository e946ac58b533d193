import type { RequestDeps } from "../../requests/deps.ts";
import { approvalRedeemer } from "../../requests/redeem.ts";
import { reviewPageUrl } from "../../requests/view.ts";
import { redeemApprovalInput } from "../schemas.ts";
import { tool, type Tool } from "../tool.ts";

/** `redeem_approval`: use an approval once, for exactly the digest that was approved, and get its signed receipt. */
export function redeemApprovalTool(deps: RequestDeps): Tool {
  const redeem = approvalRedeemer(deps);
  return tool({
    name: "redeem_approval",
    title: "Redeem an approval",
    description:
      "Use an approval once, right before executing: give the digest of exactly what you are about to execute. " +
      "It succeeds only if the proposal is approved, unexpired, not yet redeemed and the digest matches what was approved; " +
      "the answer carries the signed receipt and the same approval as an in-toto attestation (a DSSE envelope). If it fails, do not execute.",
    input: redeemApprovalInput,
    readOnly: false,
    link: (args) => reviewPageUrl(deps, args.id),
    async run({ principal }, args) {
      const answer = await redeem(principal, args.id, args.digest);
      return { ...answer, url: reviewPageUrl(deps, answer.id) };
    },
  });
}
