import { createHash } from "node:crypto";
import { z } from "zod";
import type { Database } from "../db/database.ts";
import { appendAudit } from "../audit/log.ts";
import { canonicalJson } from "../canonical-json.ts";
import { GateError, UnavailableError, ValidationError } from "../errors.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { outreachDigest, outreachFacts, parseOutreachContent, type OutreachContent } from "../outreach/content.ts";
import { insertOutreach } from "../outreach/store.ts";
import { normalizeDomain } from "../sites/domain.ts";
import { assertSiteVerified } from "../sites/verified.ts";
import { newProposalId } from "./ids.ts";
import { hiddenCharacterProblem } from "../policy/reviewer-text.ts";
import { insertProposal, type ProposalRow } from "./store.ts";
import { enqueue, openOutreach, syncCheckRun } from "../outbox/queue.ts";
import { recordWaiting } from "./recorder.ts";

export const PROPOSAL_TTL_MS = 72 * 60 * 60 * 1000;

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Text stored as such (PostgreSQL text holds no NUL byte). */
const NO_NUL = (value: string) => !value.includes("\u0000");

/**
 * Commit proposals come from pull requests only: the commit gate opens one for
 * each agent-proposed head itself. One submitted through the API would put a
 * second, never approvable check on any commit of the repository.
 */
export const COMMIT_KIND_REFUSED =
  "commit is not accepted here: a commit proposal is opened by Agent Gate itself for each agent-proposed pull request head; submit deploy or outreach";

export const proposalBodySchema = z
  .strictObject({
    kind: z.enum(["deploy", "commit", "outreach"], { error: "must be one of deploy, outreach" }),
    repo: z
      .string({ error: "must be a string owner/name" })
      .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, "must be a repository as owner/name"),
    sha: z
      .string({ error: "must be a string" })
      .regex(SHA, "must be a full commit SHA: 40 (or 64) lowercase hex characters")
      .optional(),
    environment: z
      .string({ error: "must be a string" })
      .trim()
      .min(1, "must not be empty")
      .max(255, "must be at most 255 characters")
      .refine(NO_NUL, "must not contain a NUL character")
      .optional(),
    site: z.string({ error: "must be a string" }).max(253, "must be at most 253 characters").optional(),
    summary: z
      .string({ error: "is required: a short text saying what the proposal does" })
      .trim()
      .min(1, "must not be empty")
      .max(2000, "must be at most 2000 characters")
      .refine(NO_NUL, "must not contain a NUL character"),
    content: z.unknown().optional(),
  })
  .superRefine((body, ctx) => {
    const require = (field: "sha" | "environment" | "site", why: string) => {
      if (body[field] === undefined)
        ctx.addIssue({ code: "custom", path: [field], message: `is required for ${body.kind} proposals: ${why}` });
    };
    if (body.kind === "deploy") {
      require("sha", "the commit to deploy");
      require("environment", "the deployment environment");
      require("site", "the verified site the deploy targets");
    }
    if (body.kind === "commit") {
      ctx.addIssue({ code: "custom", path: ["kind"], message: COMMIT_KIND_REFUSED });
      return;
    }
    if (body.kind === "outreach") {
      require("site", "the verified site the outreach is sent for");
      if (body.content === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["content"],
          message: "is required for outreach proposals: {channel, recipients, subject?, body}",
        });
    }
    // Every field a reviewer is shown must show what it holds.
    for (const field of ["environment", "summary", "site"] as const) {
      const value = body[field];
      const problem = value === undefined ? null : hiddenCharacterProblem(value);
      if (problem) ctx.addIssue({ code: "custom", path: [field], message: problem });
    }
    if (body.kind !== "outreach" && body.content !== undefined) {
      ctx.addIssue({ code: "custom", path: ["content"], message: "is only accepted for outreach proposals" });
    }
  });

export type ProposalBody = Omit<z.infer<typeof proposalBodySchema>, "content"> & { outreach?: OutreachContent };

/** Validate a request body, naming every field at fault. */
export function parseProposalBody(value: unknown): ProposalBody {
  const result = proposalBodySchema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(
      result.error.issues.flatMap((issue) => {
        if (issue.code === "unrecognized_keys")
          return issue.keys.map((key) => ({ field: key, message: "is not a known field" }));
        return [{ field: issue.path.join(".") || "body", message: issue.message }];
      }),
    );
  }
  const { content, ...rest } = result.data;
  const parsed: ProposalBody = rest.kind === "outreach" ? { ...rest, outreach: parseOutreachContent(content) } : rest;
  if (parsed.site !== undefined) return { ...parsed, site: normalizeDomain(parsed.site, "site") };
  return parsed;
}

/**
 * What an approval binds: a deploy's canonical {kind, repo, sha, environment, site};
 * a commit's head SHA; an outreach's canonical {kind, repo, channel, recipients, subject, body, site}.
 */
export function proposalDigest(
  body: Pick<ProposalBody, "kind" | "repo" | "sha" | "environment" | "site" | "outreach">,
): string {
  if (body.kind === "commit") return body.sha ?? "";
  if (body.kind === "outreach" && body.outreach) return outreachDigest(body.repo, body.site ?? "", body.outreach);
  const canonical = canonicalJson({
    kind: body.kind,
    repo: body.repo,
    sha: body.sha ?? null,
    environment: body.environment ?? null,
    site: body.site ?? null,
  });
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}

export interface Submitter {
  installationId: number;
  actor: string;
  /**
   * The user who triggered the workflow run, for OIDC callers (on a re-run,
   * the one who re-ran it): they may not approve it, and neither may the
   * run's actor, who is the proposal's author.
   */
  triggeredBy: string | null;
  via: "token" | "oidc";
  /** Who may redeem the approval: the proposing key's lineage or the workflow's OIDC identity (src/requests/auth.ts). */
  identity: string;
  /** The agent token's name, shown as the proposer beside its prefix. */
  tokenName?: string;
}

/**
 * Create a pending proposal: the site check, the row, its audit event and the
 * queued GitHub write commit together or not at all. A proposal refused for
 * its site is recorded in an audit event of its own, since the rollback loses
 * the rest. Outreach text is sealed with `keyring`; without one it is refused.
 */
export async function submitProposal(
  db: Database,
  submitter: Submitter,
  body: ProposalBody,
  repo: { repo_id: number; full_name: string },
  now: Date,
  keyring?: Keyring | null,
): Promise<ProposalRow> {
  const bound = { ...body, repo: repo.full_name };
  const digest = proposalDigest(bound);
  if (bound.kind === "outreach" && !keyring) {
    throw new UnavailableError(
      "No keyring is configured, and outreach text is only stored encrypted: set AGENT_GATE_KEYS.",
    );
  }
  try {
    return await createProposal(db, submitter, bound, repo.repo_id, digest, now, keyring ?? null);
  } catch (error) {
    if (error instanceof GateError && error.code === "site_not_verified") {
      await db.tenant(submitter.installationId, (tx) =>
        appendAudit(
          tx,
          submitter.installationId,
          {
            action: "proposal.refused",
            outcome: "refused",
            actor: submitter.actor,
            actorIsAgent: submitter.via === "token",
            repo: bound.repo,
            data: {
              kind: bound.kind,
              reason: "site_not_verified",
              site: bound.site ?? null,
              ...(bound.outreach ? outreachFacts(digest, bound.outreach) : { digest }),
              via: submitter.via,
            },
          },
          now,
        ),
      );
    }
    throw error;
  }
}

async function createProposal(
  db: Database,
  submitter: Submitter,
  bound: ProposalBody,
  repoId: number,
  digest: string,
  now: Date,
  keyring: Keyring | null,
): Promise<ProposalRow> {
  return db.tenant(submitter.installationId, async (tx) => {
    if (bound.kind === "deploy" || bound.kind === "outreach")
      await assertSiteVerified(tx, submitter.installationId, bound.site ?? "", now);
    const row = await insertProposal(tx, {
      id: newProposalId(),
      installationId: submitter.installationId,
      repo: bound.repo,
      repoId,
      kind: bound.kind,
      status: "pending",
      digest,
      headSha: bound.sha ?? null,
      prNumber: null,
      author: submitter.actor,
      environment: bound.environment ?? null,
      site: bound.site ?? null,
      summary: bound.summary,
      details: {
        summary: bound.summary,
        submitted_by: submitter.actor,
        via: submitter.via,
        triggered_by: submitter.triggeredBy,
        proposer_identity: submitter.identity,
        ...(submitter.tokenName ? { token_name: submitter.tokenName } : {}),
      },
      state: {},
      expiresAt: new Date(now.getTime() + PROPOSAL_TTL_MS),
      now,
    });
    await appendAudit(
      tx,
      submitter.installationId,
      {
        action: "proposal.created",
        outcome: "pending",
        actor: submitter.actor,
        actorIsAgent: submitter.via === "token",
        repo: row.repo,
        subject: row.id,
        data: {
          kind: row.kind,
          digest,
          environment: row.environment,
          site: row.site,
          via: submitter.via,
          ...(bound.outreach ? outreachFacts(digest, bound.outreach) : {}),
        },
      },
      now,
    );
    if (bound.outreach && keyring) {
      await insertOutreach(tx, keyring, { id: row.id, installationId: submitter.installationId }, bound.outreach, now);
      await enqueue(tx, openOutreach(row.installation_id, row.id));
    } else {
      await enqueue(tx, syncCheckRun(row.installation_id, row.id, row.status));
      await recordWaiting(tx, row, now);
    }
    return row;
  });
}
