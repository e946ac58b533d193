import type { Database } from "../db/database.ts";
import { parseKeyring, type Keyring } from "../crypto/keyring.ts";
import { GateError, NotFoundError, UnavailableError, ValidationError } from "../errors.ts";
import { appendAudit } from "../audit/log.ts";
import { findProposal, type ProposalRow } from "../proposals/store.ts";
import { parseProposalBody, submitProposal, type ProposalBody } from "../proposals/submit.ts";
import { approverLogins, findRedemption, redeemProposal, type Redeemer } from "../proposals/redeem.ts";
import type { DecisionWaiter } from "../proposals/wait.ts";
import type { DeniedUses } from "./denied-uses.ts";
import { assertKind, authenticate, guardStorage, inScope, resolveRepo, type Principal } from "./auth.ts";
import { readBody, readJson, sendJson } from "./http.ts";
import { receiptSigner } from "./receipt-for.ts";
import type { Settings } from "../config/settings.ts";
import type { Route } from "./router.ts";

export interface ApiLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ApiDeps {
  db: Database;
  now: () => Date;
  settings: Settings;
  waiter: DecisionWaiter;
  log?: ApiLog;
  /** The keyring holding the receipt-signing key; without one (and no AGENT_GATE_KEYS) receipts are null. */
  keyring?: Keyring;
  /** How often a long-poll re-reads without a notification (default 5 s). */
  recheckMs?: number;
  /** The app's public URL as the server knows it once listening (AGENT_GATE_PUBLIC_URL, else its own address). */
  publicUrl?: () => string;
  /** Where denied uses of known tokens are gathered; see src/api/denied-uses.ts. */
  deniedUses?: DeniedUses;
}

/** Proposal bodies are small: a summary and, for outreach, the text. */
export const PROPOSAL_BODY_LIMIT = 64 * 1024;
/** An outreach proposal carries its text (body <= 256 KB, up to 1,000 recipients), JSON-escaped. */
export const OUTREACH_REQUEST_LIMIT = 2 * 1024 * 1024;
export const MAX_WAIT_SECONDS = 60;
/** A long-poll re-reads at least this often, in case a notification was lost with its connection. */
const RECHECK_MS = 5_000;

export function proposalRoutes(deps: ApiDeps): Route[] {
  const signer = receiptSigner(deps);
  const keyring = deps.keyring ?? (deps.settings.keys ? parseKeyring(deps.settings.keys) : null);
  return [
    {
      method: "POST",
      path: "/api/v1/proposals",
      handler: async ({ req, res }) => {
        const principal = await authenticate(deps, req);
        const body = await parseAudited(deps, principal, await readProposal(req));
        assertKind(principal, body.kind);
        const repo = await resolveRepo(deps, principal, body.repo);
        const row = await stored(() =>
          submitProposal(
            deps.db,
            {
              installationId: principal.installationId,
              actor: principal.actor,
              // The run's actor is the proposer; whoever triggered this run
              // (a re-run included) is excluded from approving it too.
              triggeredBy: principal.oidc?.triggering_actor ?? null,
              via: principal.kind,
              identity: principal.identity,
              ...(principal.tokenName ? { tokenName: principal.tokenName } : {}),
            },
            body,
            repo,
            deps.now(),
            keyring,
          ),
        );
        deps.log?.info(
          {
            proposal: row.id,
            kind: row.kind,
            repo: row.repo,
            ...(body.outreach
              ? { channel: body.outreach.channel, recipients: body.outreach.recipients.length, digest: row.digest }
              : {}),
          },
          "proposal created",
        );
        sendJson(res, 201, {
          id: row.id,
          kind: row.kind,
          repo: row.repo,
          digest: row.digest,
          status: row.status,
          expires_at: row.expires_at.toISOString(),
          url: reviewPageUrl(deps, row.id),
        });
      },
    },
    {
      method: "GET",
      path: "/api/v1/proposals/:id",
      handler: async ({ req, res, params, query }) => {
        const principal = await authenticate(deps, req);
        const waitMs = parseWait(query) * 1000;
        const id = params.id ?? "";
        const started = performance.now();
        if (waitMs > 0)
          await deps.waiter.start().catch((error: unknown) => {
            throw new UnavailableError("Decisions cannot be awaited right now; poll without wait or try again.", error);
          });
        const watch = deps.waiter.watch(id);
        const aborted = new AbortController();
        res.on("close", () => aborted.abort());
        try {
          let view = await readVisible(deps, principal, id);
          let waited = false;
          while (view.row.status === "pending" && !aborted.signal.aborted) {
            const left = waitMs - (performance.now() - started);
            if (left <= 0) break;
            await watch.next(Math.min(left, deps.recheckMs ?? RECHECK_MS), aborted.signal);
            waited = true;
            view = await readVisible(deps, principal, id);
          }
          if (aborted.signal.aborted) return;
          // The caller is asked again before a long poll answers: a token
          // revoked or expired during the wait gets the same 401 as any other.
          if (waited) await authenticate(deps, req);
          sendJson(res, 200, proposalView(view));
        } finally {
          watch.cancel();
        }
      },
    },
    {
      method: "POST",
      path: "/api/v1/proposals/:id/redeem",
      handler: async ({ req, res, params }) => {
        const principal = await authenticate(deps, req);
        const body = (await readJson(req, PROPOSAL_BODY_LIMIT)) as { digest?: unknown } | null;
        const digest = body && typeof body === "object" ? body.digest : undefined;
        if (typeof digest !== "string" || !/^[0-9a-fA-F]{40,64}$/.test(digest)) {
          throw new ValidationError([
            { field: "digest", message: "is required: the hex digest of what is about to be executed" },
          ]);
        }
        const key = await stored(signer);
        const redeemed = await stored(() =>
          redeemProposal(deps.db, redeemerOf(principal), params.id ?? "", digest, deps.now(), key),
        );
        sendJson(res, 200, {
          id: redeemed.proposal.id,
          status: "redeemed",
          redeemed: true,
          redemption_id: redeemed.redemption_id,
          redeemed_at: redeemed.redeemed_at.toISOString(),
          digest: redeemed.proposal.digest,
          receipt: { receipt: redeemed.receipt, kid: redeemed.kid },
          attestation: redeemed.attestation,
        });
      },
    },
  ];
}

/** Outreach proposals may be larger than others; every other kind keeps the small limit. */
/** A body refused for its kind is audited (an agent asking for what it may not), then answered 400. */
async function parseAudited(deps: ApiDeps, principal: Principal, value: unknown): Promise<ProposalBody> {
  try {
    return parseProposalBody(value);
  } catch (error) {
    const kind = error instanceof ValidationError ? error.issues.find((issue) => issue.field === "kind") : undefined;
    if (kind) {
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
    throw error;
  }
}

async function readProposal(req: import("node:http").IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, OUTREACH_REQUEST_LIMIT);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    throw new ValidationError([{ field: "body", message: "must be valid JSON" }]);
  }
  const outreach = value !== null && typeof value === "object" && (value as { kind?: unknown }).kind === "outreach";
  if (!outreach && raw.length > PROPOSAL_BODY_LIMIT) {
    throw new GateError("payload_too_large", `The body exceeds ${PROPOSAL_BODY_LIMIT} bytes.`, { status: 413 });
  }
  return value;
}

/** The review page of a proposal, on the app's public URL (the same link its check run carries). */
export function reviewPageUrl(deps: Pick<ApiDeps, "settings" | "publicUrl">, id: string): string {
  const configured = deps.publicUrl?.() || deps.settings.publicUrl || `http://localhost:${deps.settings.port}`;
  return `${configured.replace(/\/+$/, "")}/proposals/${encodeURIComponent(id)}`;
}

/** Who redeems, and which proposals they may touch: their scope, and only what they proposed. */
export function redeemerOf(principal: Principal): Redeemer {
  return {
    installationId: principal.installationId,
    actor: principal.actor,
    identity: principal.identity,
    inScope: (proposal) => inScope(principal, proposal),
  };
}

/** A storage failure is a 503 saying nothing was changed; the gate stays closed. */
function stored<T>(fn: () => Promise<T>): Promise<T> {
  return guardStorage(fn, "Storage is unavailable; nothing was changed. Try again.");
}

/** `wait_seconds`, as MCP's get_proposal names it; `wait` is kept as an alias. */
function parseWait(query: URLSearchParams): number {
  const field = query.has("wait_seconds") ? "wait_seconds" : "wait";
  const value = query.get(field);
  if (value === null || value === "") return 0;
  if (query.has("wait_seconds") && query.has("wait")) {
    throw new ValidationError([{ field: "wait", message: "give wait_seconds or its alias wait, not both" }]);
  }
  if (!/^\d{1,2}$/.test(value) || Number(value) > MAX_WAIT_SECONDS) {
    throw new ValidationError([{ field, message: `must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` }]);
  }
  return Number(value);
}

export interface VisibleProposal {
  row: ProposalRow;
  redeemedAt: Date | null;
}

/** The proposal if the principal may see it; another installation's or repository's is the same 404 as none. */
export async function readVisible(deps: ApiDeps, principal: Principal, id: string): Promise<VisibleProposal> {
  const found = await stored(() =>
    deps.db.tenant(principal.installationId, async (tx) => {
      const row = await findProposal(tx, id);
      return row ? { row, redemption: row.status === "approved" ? await findRedemption(tx, row.id) : null } : undefined;
    }),
  );
  const row = found?.row;
  if (!found || !row || !inScope(principal, row)) throw new NotFoundError(`Proposal ${id}`);
  return { row, redeemedAt: found.redemption?.redeemed_at ?? null };
}

/**
 * A proposal's state. It never carries a receipt: a receipt is only the answer
 * of the one successful redemption. An approval says whether it was redeemed.
 */
export function proposalView({ row, redeemedAt }: VisibleProposal): Record<string, unknown> {
  return {
    id: row.id,
    status: row.status,
    kind: row.kind,
    repo: row.repo,
    digest: row.digest,
    approvers: approverLogins(row.approvers),
    decided_at: row.decided_at?.toISOString() ?? null,
    reason: row.reason,
    expires_at: row.expires_at.toISOString(),
    redeemed: redeemedAt !== null,
    redeemed_at: redeemedAt?.toISOString() ?? null,
  };
}
