import { parseProposalBody } from "../../proposals/submit.ts";
import type { RequestDeps } from "../../requests/deps.ts";
import { proposalSubmitter } from "../../requests/submit.ts";
import { reviewPageUrl } from "../../requests/view.ts";
import { proposeOutreachInput } from "../schemas.ts";
import { tool, type Tool } from "../tool.ts";

/** `propose_outreach`: ask for one message to be sent; the answer names its digest and counts, never its text. */
export function proposeOutreachTool(deps: RequestDeps): Tool {
  const submit = proposalSubmitter(deps);
  return tool({
    name: "propose_outreach",
    title: "Propose an outreach message",
    description:
      "Ask a person to approve sending one message (email, post, message or api call) to the listed recipients for a verified site. " +
      "Nothing is sent by this call: the text is stored encrypted and a pull request (or check run) asks for review. " +
      "The answer carries only the digest and counts, never the text or the recipients. Wait with get_proposal, " +
      "then redeem_approval with the digest of exactly the message you will send.",
    input: proposeOutreachInput,
    readOnly: false,
    async run({ principal }, args) {
      const body = parseProposalBody({ kind: "outreach", ...args });
      const row = await submit(principal, body);
      deps.log?.info({ proposal: row.id, kind: row.kind, repo: row.repo, via: "mcp" }, "proposal created");
      return {
        id: row.id,
        kind: row.kind,
        repo: row.repo,
        site: row.site,
        digest: row.digest,
        channel: body.outreach?.channel,
        recipients: body.outreach?.recipients.length ?? 0,
        body_bytes: Buffer.byteLength(body.outreach?.body ?? "", "utf8"),
        status: row.status,
        expires_at: row.expires_at.toISOString(),
        url: reviewPageUrl(deps, row.id),
      };
    },
  });
}
