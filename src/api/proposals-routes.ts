import type { IncomingMessage } from "node:http";
import { GateError, ValidationError } from "../errors.ts";
import { readBody, readJson, sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";
import { authenticate } from "../requests/auth.ts";
import type { RequestDeps } from "../requests/deps.ts";
import { MAX_WAIT_SECONDS, OUTREACH_REQUEST_LIMIT, PROPOSAL_BODY_LIMIT } from "../requests/limits.ts";
import { approvalRedeemer } from "../requests/redeem.ts";
import { parseAudited, proposalSubmitter } from "../requests/submit.ts";
import { proposalView, reviewPageUrl } from "../requests/view.ts";
import { readAwaited } from "../requests/wait.ts";

/** The agent requests over HTTP: submit a proposal, read (and wait for) it, redeem its approval. */
export function proposalRoutes(deps: RequestDeps): Route[] {
  const submit = proposalSubmitter(deps);
  const redeem = approvalRedeemer(deps);
  return [
    {
      method: "POST",
      path: "/api/v1/proposals",
      handler: async ({ req, res }) => {
        const principal = await authenticate(deps, req);
        const body = await parseAudited(deps, principal, await readProposal(req));
        const row = await submit(principal, body);
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
        const aborted = new AbortController();
        res.on("close", () => aborted.abort());
        const { view, waited } = await readAwaited(deps, principal, id, {
          waitMs,
          signal: aborted.signal,
          progress: null,
          url: reviewPageUrl(deps, id),
          unavailable: "Decisions cannot be awaited right now; poll without wait or try again.",
        });
        if (aborted.signal.aborted) return;
        // The caller is asked again before a long poll answers: a token
        // revoked or expired during the wait gets the same 401 as any other.
        if (waited) await authenticate(deps, req);
        sendJson(res, 200, proposalView(view));
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
        sendJson(res, 200, await redeem(principal, params.id ?? "", digest));
      },
    },
  ];
}

/** Outreach proposals may be larger than others; every other kind keeps the small limit. */
async function readProposal(req: IncomingMessage): Promise<unknown> {
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
