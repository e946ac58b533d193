/**
 * The OpenAPI description served at /api/v1/openapi.json. A test checks that
 * every route of `apiRoutes` is described here and nothing else is.
 */
const error = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        fields: {
          type: "array",
          items: { type: "object", required: ["field", "message"], properties: { field: { type: "string" }, message: { type: "string" } } },
        },
      },
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const idParameter = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^prp_[0-9A-Za-z]{20}$" } };

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Agent Gate API",
    version: "1.0.0",
    description:
      "Agents and workflows submit proposals, wait for a human decision and redeem an approval once. " +
      "Authenticate with an agent token (`agt_…`) or a GitHub Actions OIDC token as a bearer.",
  },
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: {
      Error: error,
      NewProposal: {
        type: "object",
        additionalProperties: false,
        required: ["kind", "repo", "summary"],
        properties: {
          kind: {
            type: "string",
            enum: ["deploy", "outreach"],
            description:
              "deploy or outreach. commit is refused with 400 (field kind) and audited: a commit proposal is opened by Agent Gate itself for each agent-proposed pull request head, never through the API.",
          },
          repo: { type: "string", pattern: "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$" },
          sha: { type: "string", pattern: "^[0-9a-f]{40}([0-9a-f]{24})?$", description: "required for deploy" },
          environment: { type: "string", description: "required for deploy" },
          site: { type: "string", description: "required for deploy and outreach: a site verified for the installation" },
          summary: { type: "string", minLength: 1, maxLength: 2000 },
          content: { $ref: "#/components/schemas/OutreachContent" },
        },
      },
      OutreachContent: {
        type: "object",
        additionalProperties: false,
        required: ["channel", "recipients", "body"],
        description:
          "Outreach only, and required there. Stored encrypted; the proposal's digest is the SHA-256 of its canonical content. " +
          "A body over 256 KB is answered 413 and nothing is stored.",
        properties: {
          channel: { type: "string", enum: ["email", "post", "message", "api"] },
          recipients: {
            type: "array",
            minItems: 1,
            maxItems: 1000,
            items: { type: "string" },
            description: "email: addresses; api: https URLs without credentials; post, message: handles without whitespace or invisible characters",
          },
          subject: { type: ["string", "null"], maxLength: 998 },
          body: { type: "string", description: "at most 256 KB in UTF-8" },
        },
      },
      CreatedProposal: {
        type: "object",
        required: ["id", "kind", "repo", "digest", "status", "expires_at", "url"],
        properties: {
          id: { type: "string" },
          kind: { type: "string" },
          repo: { type: "string" },
          digest: { type: "string", description: "deploy: SHA-256 of canonical {kind, repo, sha, environment, site}; commit: the head SHA" },
          status: { type: "string", enum: ["pending"] },
          expires_at: { type: "string", format: "date-time" },
          url: { type: "string", format: "uri" },
        },
      },
      Proposal: {
        type: "object",
        required: ["id", "status", "kind", "repo", "digest", "approvers", "decided_at", "reason", "expires_at", "receipt"],
        properties: {
          id: { type: "string" },
          status: { type: "string", enum: ["pending", "approved", "rejected", "expired", "superseded", "exempt"] },
          kind: { type: "string" },
          repo: { type: "string" },
          digest: { type: "string" },
          approvers: { type: "array", items: { type: "string" } },
          decided_at: { type: ["string", "null"], format: "date-time" },
          reason: { type: ["string", "null"] },
          expires_at: { type: "string", format: "date-time" },
          receipt: {
            oneOf: [
              { type: "null" },
              {
                type: "object",
                required: ["receipt", "kid"],
                properties: {
                  receipt: { type: "string", description: "base64url(canonical JSON payload).base64url(Ed25519 signature)" },
                  kid: { type: "string" },
                },
              },
            ],
          },
        },
      },
      Redemption: {
        type: "object",
        required: ["id", "status", "redeemed", "redeemed_at", "digest", "receipt"],
        properties: {
          id: { type: "string" },
          status: { type: "string", enum: ["redeemed"] },
          redeemed: { type: "boolean", enum: [true] },
          redeemed_at: { type: "string", format: "date-time" },
          digest: { type: "string" },
          receipt: { $ref: "#/components/schemas/Proposal/properties/receipt" },
        },
      },
    },
  },
  paths: {
    "/api/v1/proposals": {
      post: {
        operationId: "createProposal",
        requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/NewProposal" } } } },
        responses: {
          "201": { description: "Created, pending a decision", content: { "application/json": { schema: { $ref: "#/components/schemas/CreatedProposal" } } } },
          "400": errorResponse("The body is invalid; each field at fault is named"),
          "401": errorResponse("No valid bearer token"),
          "403": errorResponse("The token may not submit this kind"),
          "404": errorResponse("No such repository in the caller's scope"),
          "413": errorResponse("The body is too large"),
          "422": errorResponse("The site is not verified for the installation"),
          "503": errorResponse("Storage is unavailable; nothing was created"),
        },
      },
    },
    "/api/v1/proposals/{id}": {
      get: {
        operationId: "getProposal",
        parameters: [
          idParameter,
          { name: "wait", in: "query", required: false, schema: { type: "integer", minimum: 0, maximum: 60 }, description: "seconds to hold while pending" },
        ],
        responses: {
          "200": { description: "The proposal, decided or still pending after the wait", content: { "application/json": { schema: { $ref: "#/components/schemas/Proposal" } } } },
          "400": errorResponse("wait is not 0..60"),
          "401": errorResponse("No valid bearer token"),
          "404": errorResponse("No such proposal in the caller's scope"),
        },
      },
    },
    "/api/v1/proposals/{id}/redeem": {
      post: {
        operationId: "redeemProposal",
        parameters: [idParameter],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { type: "object", required: ["digest"], properties: { digest: { type: "string" } } } } },
        },
        responses: {
          "200": { description: "Redeemed: execute exactly what was approved", content: { "application/json": { schema: { $ref: "#/components/schemas/Redemption" } } } },
          "400": errorResponse("digest is missing or malformed"),
          "401": errorResponse("No valid bearer token"),
          "404": errorResponse("No such proposal in the caller's scope"),
          "409": errorResponse("not_approved, expired, digest_mismatch or already_redeemed"),
        },
      },
    },
    "/api/v1/openapi.json": {
      get: {
        operationId: "getOpenApi",
        security: [],
        responses: { "200": { description: "This document", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
  },
} as const;
