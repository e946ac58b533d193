import type { ServerResponse } from "node:http";
import { readBody } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { readSubjectAudit } from "../audit/log.ts";
import { GateError, ValidationError } from "../errors.ts";
import { castVote, decidedByVotes, type VoteSources } from "../gates/vote.ts";
import { installationVoteSources } from "../gates/vote-sources.ts";
import { readOutreach } from "../outreach/store.ts";
import { checkApprover, type Eligibility } from "../policy/eligibility.ts";
import type { Permission } from "../policy/permission.ts";
import { needsEligibility, pageAccess, type PageAccess } from "../policy/review-access.ts";
import { installationOfProposal } from "../proposals/directory.ts";
import { PROPOSAL_ID_PATTERN } from "../proposals/ids.ts";
import { findProposal, type ProposalRow } from "../proposals/store.ts";
import { repoAccessOf, SignedOutError } from "./github-user.ts";
import { messagePage } from "./html.ts";
import { renderProposalPage } from "./page.ts";
import { redirect } from "./respond.ts";
import { requireSessions, type ReviewContext } from "./review-deps.ts";
import type { ReviewSession, Sessions } from "./session.ts";

interface Viewed {
  installationId: number;
  proposal: ProposalRow;
  access: PageAccess;
  sources: VoteSources;
}

const DIGEST = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const BANNERS: Record<string, string> = {
  counted: "Your vote was recorded and counted.",
  refused: "Your vote was recorded but does not count; see why under Approvals so far.",
  ignored: "Nothing was decided: the proposal could not take your vote; the audit trail says why.",
};

/** The proposal page (GET) and its Approve / Reject form (POST), both behind GitHub sign-in. */
export function pageRoutes(ctx: ReviewContext): Route[] {
  const { log, db, now, github, keyring } = ctx.deps;
  const pages = ctx.pages;

  /** Sign-in ended at GitHub: the session goes, and the person is sent to sign in again. */
  async function signInAgain(
    res: ServerResponse,
    sessions: Sessions,
    session: ReviewSession,
    id: string,
  ): Promise<void> {
    redirect(res, `/login?return_to=${encodeURIComponent(`/proposals/${id}`)}`, {
      "set-cookie": await sessions.end(session),
    });
  }

  /** The proposal and what this person may do with it; null for a 404 (missing, or not theirs to see). */
  async function view(session: ReviewSession, id: string, askEligibility = true): Promise<Viewed | null> {
    if (!PROPOSAL_ID_PATTERN.test(id)) return null;
    const installationId = await installationOfProposal(db, id);
    if (installationId === undefined) return null;
    const proposal = await db.tenant(installationId, (tx) => findProposal(tx, id));
    if (!proposal) return null;
    // Read access is what GitHub shows the person's own token: a repository they cannot see is a 404.
    const repo = await repoAccessOf(ctx.github.api, session.token, proposal.repo);
    const sources = installationVoteSources(github, now, installationId, proposal);
    const facts = {
      repoPermission: repo?.permission ?? null,
      repoPrivate: repo?.private ?? true,
      kind: proposal.kind,
      status: proposal.status,
      decidedByVotes: decidedByVotes(proposal),
      minPermission: (proposal.state.min_permission as Permission | undefined) ?? "write",
      prNumber: proposal.pr_number,
    };
    const eligibility =
      repo && askEligibility && needsEligibility(facts) ? await eligibilityOf(sources, proposal, session.login) : null;
    const access = pageAccess({ ...facts, eligibility });
    return access.visible ? { installationId, proposal, access, sources } : null;
  }

  return [
    {
      method: "GET",
      path: "/proposals/:id",
      handler: pages.errors(async ({ req, res, params, query }) => {
        const { sessions } = requireSessions(ctx);
        const session = await sessions.current(req);
        if (!session) {
          redirect(res, `/login?return_to=${encodeURIComponent(`/proposals/${params.id}`)}`);
          return;
        }
        let viewed: Viewed | null;
        try {
          viewed = await view(session, params.id ?? "");
        } catch (error) {
          if (error instanceof SignedOutError) return signInAgain(res, sessions, session, params.id ?? "");
          throw error;
        }
        // A 404 names no page to come back to: a missing proposal and a hidden one look the same.
        if (!viewed) return pages.notFound(res, { login: session.login, csrf: session.csrf });
        const viewer = { login: session.login, csrf: session.csrf, returnTo: `/proposals/${viewed.proposal.id}` };
        const { installationId, proposal, access } = viewed;
        const [outreach, audit] = await db.tenant(
          installationId,
          async (tx) =>
            [
              proposal.kind === "outreach" && keyring ? ((await readOutreach(tx, keyring, proposal.id)) ?? null) : null,
              await readSubjectAudit(tx, installationId, proposal.id),
            ] as const,
        );
        const html = renderProposalPage({
          now: now(),
          proposal,
          viewer,
          avatars: pages.avatars,
          access,
          outreach,
          audit,
          githubWeb: ctx.github.web,
          banner: BANNERS[query.get("vote") ?? ""] ?? null,
        });
        pages.send(res, 200, html);
      }),
    },
    {
      method: "POST",
      path: "/proposals/:id/decision",
      handler: pages.errors(async ({ req, res, params }) => {
        const { sessions } = requireSessions(ctx);
        const session = await sessions.current(req);
        const form = new URLSearchParams((await readBody(req, 8 * 1024)).toString("utf8"));
        if (!session) {
          const again = PROPOSAL_ID_PATTERN.test(params.id ?? "") ? `/proposals/${params.id}` : null;
          pages.send(
            res,
            403,
            messagePage(
              "Request refused",
              "Sign in first: open the proposal's page, then decide. Nothing was recorded.",
              pages.frame(),
              again,
            ),
          );
          return;
        }
        if (!sessions.csrfValid(session, form.get("csrf"))) {
          log.warn({ login: session.login }, "review page decision refused: CSRF token missing or wrong");
          throw new GateError(
            "csrf",
            "The form did not come from this app's page (CSRF token missing or wrong). Nothing was recorded; reload the page and decide again.",
            { status: 403 },
          );
        }
        const vote = form.get("vote");
        const digest = form.get("digest") ?? "";
        const issues = [
          ...(vote === "approve" || vote === "reject" ? [] : [{ field: "vote", message: "must be approve or reject" }]),
          ...(DIGEST.test(digest)
            ? []
            : [{ field: "digest", message: "must be the proposal's digest shown on the page" }]),
        ];
        if (issues.length) throw new ValidationError(issues);
        const id = params.id ?? "";
        let viewed: Viewed | null;
        try {
          // Eligibility is asked once, by castVote itself.
          viewed = await view(session, id, false);
        } catch (error) {
          if (error instanceof SignedOutError) return signInAgain(res, sessions, session, id);
          throw error;
        }
        if (!viewed) return pages.notFound(res, { login: session.login, csrf: session.csrf });
        // The same decision path as a check-run button: eligibility asked of GitHub now, tally, audit.
        const outcome = await castVote({ db, now }, viewed.sources, {
          installationId: viewed.installationId,
          proposalId: id,
          voter: { login: session.login, type: "User" },
          identifier: vote ?? undefined,
          via: "review_page",
          digest,
        });
        redirect(res, `/proposals/${id}?vote=${outcome.outcome}`);
      }),
    },
  ];
}

/** Whether `login` may vote now, by the same rules and sources as castVote; a config error means no. */
async function eligibilityOf(sources: VoteSources, proposal: ProposalRow, login: string): Promise<Eligibility> {
  const config = await sources.config();
  if (!config.ok) return { eligible: false, reason: "the repository's .github/agent-gate.yml has errors" };
  const permission = await sources.permission(login);
  const details = proposal.details as { triggered_by?: string | null };
  return checkApprover(
    { login, type: "User", permission },
    {
      author: proposal.author ?? "",
      triggeredBy: details.triggered_by ?? null,
      config: config.config,
      configPresent: config.present,
    },
  );
}
