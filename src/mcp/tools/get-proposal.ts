import type { RequestDeps } from "../../requests/deps.ts";
import { proposalView, reviewPageUrl } from "../../requests/view.ts";
import { readAwaited } from "../../requests/wait.ts";
import { getProposalInput } from "../schemas.ts";
import { tool, type Tool } from "../tool.ts";

/** `get_proposal`: a proposal's status, optionally held until a person decides, with progress meanwhile. */
export function getProposalTool(deps: RequestDeps): Tool {
  return tool({
    name: "get_proposal",
    title: "Get a proposal's status",
    description:
      "Read a proposal's status: pending, approved, rejected, expired or superseded. With wait_seconds (at most 60) the call holds " +
      "while the proposal is pending and returns as soon as a person decides, reporting progress meanwhile; call it again to keep waiting. " +
      "Approved means you may call redeem_approval; anything else means do not act.",
    input: getProposalInput,
    readOnly: true,
    async run({ principal, signal, progress, reauthenticate }, args) {
      const { view, waited } = await readAwaited(deps, principal, args.id, {
        waitMs: (args.wait_seconds ?? 0) * 1000,
        signal,
        progress,
        url: reviewPageUrl(deps, args.id),
        unavailable: "Decisions cannot be awaited right now; call without wait_seconds or try again.",
      });
      // A key revoked or expired during the wait gets the same refusal as any other.
      if (waited) await reauthenticate();
      return { ...proposalView(view), url: reviewPageUrl(deps, view.row.id) };
    },
  });
}
