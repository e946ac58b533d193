import type { z } from "zod";
import type { Principal } from "../api/auth.ts";
import { assertKind, guardStorage, resolveRepo } from "../api/auth.ts";
import { proposalView, readVisible, redeemerOf, reviewPageUrl, type ApiDeps } from "../api/proposals-routes.ts";
import { receiptSigner } from "../api/receipt-for.ts";
import { parseKeyring } from "../crypto/keyring.ts";
import { UnavailableError } from "../errors.ts";
import { redeemProposal } from "../proposals/redeem.ts";
import { parseProposalBody, submitProposal, type ProposalBody } from "../proposals/submit.ts";
import { listSites } from "../sites/service.ts";
import { siteStanding } from "../sites/policy.ts";
import {
  getProposalInput,
  listSitesInput,
  proposeDeployInput,
  proposeOutreachInput,
  redeemApprovalInput,
} from "./schemas.ts";
import { waitForDecision, type Progress } from "./wait.ts";

/** What a tool call knows: who is calling, and how to report progress. */
export interface ToolCall {
  principal: Principal;
  signal: AbortSignal;
  progress: Progress | null;
  /** Ask again who the caller is (after a wait): throws the common refusal for a key revoked or expired meanwhile. */
  reauthenticate: () => Promise<void>;
}

export interface Tool<S extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: S;
  /** True when the tool changes nothing. */
  readOnly: boolean;
  /** The review page of the proposal a call names, for refusals about a proposal the caller can see. */
  link?(args: z.infer<S>): string;
  run(call: ToolCall, args: z.infer<S>): Promise<Record<string, unknown>>;
}

const tool = <S extends z.ZodType>(t: Tool<S>): Tool => t as unknown as Tool;

const stored = <T>(fn: () => Promise<T>) => guardStorage(fn, "Storage is unavailable; nothing was changed. Try again.");

/** The tools an agent may call, bound to the app's dependencies. */
export function mcpTools(deps: ApiDeps): Tool[] {
  const signer = receiptSigner(deps);
  const keyring = deps.keyring ?? (deps.settings.keys ? parseKeyring(deps.settings.keys) : null);
  const url = (id: string) => reviewPageUrl(deps, id);

  async function submit(principal: Principal, body: ProposalBody) {
    assertKind(principal, body.kind);
    const repo = await resolveRepo(deps, principal, body.repo);
    const submitter = {
      installationId: principal.installationId,
      actor: principal.actor,
      // Whoever triggered this run (a re-run included) is excluded from approving it, as over the HTTP API.
      triggeredBy: principal.oidc?.triggering_actor ?? null,
      via: principal.kind,
      identity: principal.identity,
      ...(principal.tokenName ? { tokenName: principal.tokenName } : {}),
    };
    const row = await stored(() => submitProposal(deps.db, submitter, body, repo, deps.now(), keyring));
    deps.log?.info({ proposal: row.id, kind: row.kind, repo: row.repo, via: "mcp" }, "proposal created");
    return row;
  }

  return [
    tool({
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
    }),
    tool({
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
        return {
          id: row.id,
          kind: row.kind,
          repo: row.repo,
          environment: row.environment,
          site: row.site,
          digest: row.digest,
          status: row.status,
          expires_at: row.expires_at.toISOString(),
          url: url(row.id),
        };
      },
    }),
    tool({
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
          url: url(row.id),
        };
      },
    }),
    tool({
      name: "get_proposal",
      title: "Get a proposal's status",
      description:
        "Read a proposal's status: pending, approved, rejected, expired or superseded. With wait_seconds (at most 60) the call holds " +
        "while the proposal is pending and returns as soon as a person decides, reporting progress meanwhile; call it again to keep waiting. " +
        "Approved means you may call redeem_approval; anything else means do not act.",
      input: getProposalInput,
      readOnly: true,
      async run({ principal, signal, progress, reauthenticate }, args) {
        const id = args.id;
        const waitMs = (args.wait_seconds ?? 0) * 1000;
        if (waitMs > 0) {
          await deps.waiter.start().catch((error: unknown) => {
            throw new UnavailableError(
              "Decisions cannot be awaited right now; call without wait_seconds or try again.",
              error,
            );
          });
        }
        const { view, waited } = await waitForDecision(
          { waiter: deps.waiter, recheckMs: deps.recheckMs ?? 5_000 },
          id,
          () => readVisible(deps, principal, id),
          { waitMs, signal, progress, url: url(id) },
        );
        // A key revoked or expired during the wait gets the same refusal as any other.
        if (waited) await reauthenticate();
        return { ...proposalView(view), url: url(view.row.id) };
      },
    }),
    tool({
      name: "redeem_approval",
      title: "Redeem an approval",
      description:
        "Use an approval once, right before executing: give the digest of exactly what you are about to execute. " +
        "It succeeds only if the proposal is approved, unexpired, not yet redeemed and the digest matches what was approved; " +
        "the answer carries the signed receipt and the same approval as an in-toto attestation (a DSSE envelope). If it fails, do not execute.",
      input: redeemApprovalInput,
      readOnly: false,
      link: (args) => url(args.id),
      async run({ principal }, args) {
        const key = await stored(signer);
        const redeemed = await stored(() =>
          redeemProposal(deps.db, redeemerOf(principal), args.id, args.digest, deps.now(), key),
        );
        return {
          id: redeemed.proposal.id,
          status: "redeemed",
          redeemed: true,
          redemption_id: redeemed.redemption_id,
          redeemed_at: redeemed.redeemed_at.toISOString(),
          digest: redeemed.proposal.digest,
          receipt: { receipt: redeemed.receipt, kid: redeemed.kid },
          attestation: redeemed.attestation,
          url: url(redeemed.proposal.id),
        };
      },
    }),
  ];
}
