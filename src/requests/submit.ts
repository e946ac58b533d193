import { appendAudit } from "../audit/log.ts";
import { parseKeyring } from "../crypto/keyring.ts";
import { ValidationError } from "../errors.ts";
import type { ProposalRow } from "../proposals/store.ts";
import { parseProposalBody, submitProposal, type ProposalBody, type Submitter } from "../proposals/submit.ts";
import { assertKind, resolveRepo, stored, type Principal } from "./auth.ts";
import type { RequestDeps } from "./deps.ts";

export type SubmitRequest = (principal: Principal, body: ProposalBody) => Promise<ProposalRow>;

/**
 * Submit a proposal for the caller: its kind and repository checked against the
 * caller's scope, the caller recorded as the proposer. The keyring that seals
 * outreach content is read once, when the requests are set up.
 */
export function proposalSubmitter(deps: RequestDeps): SubmitRequest {
  const keyring = deps.keyring ?? (deps.settings.keys ? parseKeyring(deps.settings.keys) : null);
  return async (principal, body) => {
    assertKind(principal, body.kind);
    const repo = await resolveRepo(deps, principal, body.repo);
    return stored(() => submitProposal(deps.db, submitterOf(principal), body, repo, deps.now(), keyring));
  };
}

/** The proposer as the proposal records it. */
export function submitterOf(principal: Principal): Submitter {
  return {
    installationId: principal.installationId,
    actor: principal.actor,
    // The run's actor is the proposer; whoever triggered this run
    // (a re-run included) is excluded from approving it too.
    triggeredBy: principal.oidc?.triggering_actor ?? null,
    via: principal.kind,
    identity: principal.identity,
    ...(principal.tokenName ? { tokenName: principal.tokenName } : {}),
  };
}

/** A body refused for its kind is audited (an agent asking for what it may not), then refused like any other. */
export async function parseAudited(deps: RequestDeps, principal: Principal, value: unknown): Promise<ProposalBody> {
  try {
    return parseProposalBody(value);
  } catch (error) {
    const kind = error instanceof ValidationError ? error.issues.find((issue) => issue.field === "kind") : undefined;
    if (kind) await auditKindRefused(deps, principal, value);
    throw error;
  }
}

async function auditKindRefused(deps: RequestDeps, principal: Principal, value: unknown): Promise<void> {
  const raw = value !== null && typeof value === "object" ? (value as { kind?: unknown; repo?: unknown }) : {};
  await deps.db.tenant(principal.installationId, (tx) =>
    appendAudit(
      tx,
      principal.installationId,
      {
        action: "proposal.refused",
        outcome: "refused",
        actor: principal.actor,
        actorIsAgent: principal.kind === "token",
        repo: typeof raw.repo === "string" && raw.repo.length <= 201 ? raw.repo : null,
        data: {
          reason: "kind_not_accepted",
          kind: typeof raw.kind === "string" ? raw.kind.slice(0, 40) : null,
          via: principal.kind,
        },
      },
      deps.now(),
    ),
  );
}
