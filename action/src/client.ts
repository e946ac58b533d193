import type { z } from "zod";
import {
  apiErrorBodySchema,
  createdProposalSchema,
  proposalStateSchema,
  redeemedSchema,
  type CreateProposalRequest,
  type CreatedProposal,
  type ProposalState,
  type Redeemed,
} from "./api-types.ts";
import { ApiError, NetworkError } from "./errors.ts";
import type { HttpResponse, Transport } from "./transport.ts";

/** Seconds a request may take on top of the server's long-poll window. */
const SLACK_SECONDS = 30;

const statusHints: Record<number, string> = {
  401: "check the token input, or give the job `permissions: id-token: write` and check the audience input",
  403: "the credentials are valid but not allowed to propose this for this repository",
  404: "check server-url, and that the app is installed on this repository",
  413: "the proposal is too large; shorten the content or summary",
};

/** The Agent Gate proposals API, over HTTP. */
export class GateClient {
  constructor(
    private readonly serverUrl: string,
    private readonly bearer: () => Promise<string>,
    private readonly transport: Transport,
    /** Names the input a refused field came from (`content.recipients.0` → input 'recipients' item 1). */
    private readonly fieldName: (field: string) => string = (field) => field,
  ) {}

  create(body: CreateProposalRequest): Promise<CreatedProposal> {
    return this.request("POST", "/api/v1/proposals", createdProposalSchema, body, SLACK_SECONDS);
  }

  /** Long-polls: the server holds the request up to `waitSeconds` while pending. */
  get(id: string, waitSeconds: number): Promise<ProposalState> {
    const path = `/api/v1/proposals/${encodeURIComponent(id)}?wait_seconds=${waitSeconds}`;
    return this.request("GET", path, proposalStateSchema, undefined, waitSeconds + SLACK_SECONDS);
  }

  redeem(id: string, digest: string): Promise<Redeemed> {
    const path = `/api/v1/proposals/${encodeURIComponent(id)}/redeem`;
    return this.request("POST", path, redeemedSchema, { digest }, SLACK_SECONDS);
  }

  private async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body: unknown,
    timeoutSeconds: number,
  ): Promise<z.infer<S>> {
    const url = `${this.serverUrl}${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${await this.bearer()}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: HttpResponse;
    try {
      response = await this.transport({
        method,
        url,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: timeoutSeconds * 1000,
      });
    } catch (cause) {
      throw new NetworkError(`Could not reach Agent Gate at ${this.serverUrl} (${describe(cause)})`, { cause });
    }
    const json = parseJson(response.text);
    if (response.status < 200 || response.status > 299)
      throw toApiError(method, path, response.status, json, this.fieldName);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(
        response.status,
        "bad_response",
        `Agent Gate answered ${method} ${stripQuery(path)} with an unexpected body`,
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  }
}

function toApiError(
  method: string,
  path: string,
  status: number,
  json: unknown,
  fieldName: (field: string) => string,
): ApiError {
  const body = apiErrorBodySchema.safeParse(json);
  const code = body.success ? body.data.error.code : "http_error";
  const fields = body.success ? (body.data.error.fields ?? []) : [];
  // The app's message already lists the fields; they are said once, in the workflow's words.
  const detail =
    fields.length > 0
      ? fields.map((field) => `${fieldName(field.field)}: ${field.message}`).join("; ")
      : body.success
        ? body.data.error.message
        : `HTTP ${status}`;
  const hint = statusHints[status];
  const message = `Agent Gate refused ${method} ${stripQuery(path)} (${status} ${code}): ${detail}${hint ? ` — ${hint}` : ""}`;
  return new ApiError(status, code, message);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function stripQuery(path: string): string {
  return path.split("?")[0] ?? path;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
    return code ?? cause.message;
  }
  return String(cause);
}
