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
          items: {
            type: "object",
            required: ["field", "message"],
            properties: { field: { type: "string" }, message: { type: "string" } },
          },
        },
      },
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const idParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^prp_[0-9A-Za-z]{20}$" },
};

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
          environment: {
            type: "string",
            description:
              "required for deploy; shown to reviewers, so control, format (bidirectional, zero-width) and line-separator characters are refused",
          },
          site: {
            type: "string",
            description:
              "required for deploy and outreach: a site verified for the installation; the same characters are refused",
          },
          summary: {
            type: "string",
            minLength: 1,
            maxLength: 2000,
            description: "one line shown to reviewers; the same characters (newlines included) are refused",
          },
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
            description:
              "email: addresses; api: https URLs without credentials; post, message: handles without whitespace or invisible characters",
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
          digest: {
            type: "string",
            description: "deploy: SHA-256 of canonical {kind, repo, sha, environment, site}; commit: the head SHA",
          },
          status: { type: "string", enum: ["pending"] },
          expires_at: { type: "string", format: "date-time" },
          url: { type: "string", format: "uri" },
        },
      },
      Proposal: {
        type: "object",
        description:
          "A proposal's state. It never carries a receipt: a receipt exists only as the answer of the one successful redemption. " +
          "An approval reads status approved with redeemed false (approved, not yet redeemed) until it is redeemed.",
        required: [
          "id",
          "status",
          "kind",
          "repo",
          "digest",
          "approvers",
          "decided_at",
          "reason",
          "expires_at",
          "redeemed",
          "redeemed_at",
        ],
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
          redeemed: { type: "boolean", description: "true once the approval was redeemed (it is single-use)" },
          redeemed_at: { type: ["string", "null"], format: "date-time" },
        },
      },
      Receipt: {
        type: "object",
        required: ["receipt", "kid"],
        properties: {
          receipt: {
            type: "string",
            description:
              "base64url(canonical JSON payload).base64url(Ed25519 signature). The payload (v 2) holds proposal_id, redemption_id, " +
              "installation_id, repo, kind, digest, decision, approvers, decided_at, redeemed_at, expires_at and kid; verify it against " +
              "the digest, repository and kind about to be executed (`agent-gate receipt verify --digest --repo --kind`).",
          },
          kid: { type: "string" },
        },
      },
      Attestation: {
        type: "object",
        description:
          "The approval as an in-toto Statement v1 (predicateType https://agent-gate.dev/approval/v1) in a DSSE envelope, signed with " +
          "the same Ed25519 key as the receipt (keyid = kid in /.well-known/agent-gate/keys.json). The subject is the commit " +
          "(digest.gitCommit; a deploy's names its environment) or the outreach content (digest.sha256). See docs/attestation.md; " +
          "verify with `agent-gate attestation verify <file> --keys <keys.json> --digest --repo`.",
        required: ["payloadType", "payload", "signatures"],
        properties: {
          payloadType: { type: "string", enum: ["application/vnd.in-toto+json"] },
          payload: { type: "string", description: "standard base64 of the Statement's JSON" },
          signatures: {
            type: "array",
            items: {
              type: "object",
              required: ["keyid", "sig"],
              properties: {
                keyid: { type: "string", description: "the kid of the signing key in keys.json" },
                sig: {
                  type: "string",
                  description: "standard base64 Ed25519 signature over DSSE's PAE(payloadType, payload)",
                },
              },
            },
          },
        },
      },
      RotatedToken: {
        type: "object",
        required: [
          "token",
          "prefix",
          "name",
          "installation_id",
          "repos",
          "kinds",
          "admin",
          "state",
          "expires_at",
          "rotated_from",
        ],
        properties: {
          token: { type: "string", description: "the new token (agt_…); shown only in this answer" },
          prefix: { type: "string" },
          name: { type: "string" },
          installation_id: { type: "integer" },
          repos: { type: ["array", "null"], items: { type: "string" } },
          kinds: { type: ["array", "null"], items: { type: "string" } },
          admin: { type: "boolean" },
          state: { type: "string", enum: ["active"] },
          expires_at: { type: ["string", "null"], format: "date-time" },
          rotated_from: { type: "string", description: "the prefix of the token now revoked" },
        },
      },
      Redemption: {
        type: "object",
        required: ["id", "status", "redeemed", "redemption_id", "redeemed_at", "digest", "receipt", "attestation"],
        properties: {
          id: { type: "string" },
          status: { type: "string", enum: ["redeemed"] },
          redeemed: { type: "boolean", enum: [true] },
          redemption_id: {
            type: "string",
            description: "the id of this one redemption, also inside the signed receipt",
          },
          redeemed_at: { type: "string", format: "date-time" },
          digest: { type: "string" },
          receipt: { $ref: "#/components/schemas/Receipt" },
          attestation: { $ref: "#/components/schemas/Attestation" },
        },
      },
    },
  },
  paths: {
    "/api/v1/proposals": {
      post: {
        operationId: "createProposal",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/NewProposal" } } },
        },
        responses: {
          "201": {
            description: "Created, pending a decision",
            content: { "application/json": { schema: { $ref: "#/components/schemas/CreatedProposal" } } },
          },
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
          {
            name: "wait_seconds",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 0, maximum: 60 },
            description: "seconds to hold while pending (as MCP's get_proposal names it)",
          },
          {
            name: "wait",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 0, maximum: 60 },
            description: "alias of wait_seconds, kept for existing callers; not both",
          },
        ],
        responses: {
          "200": {
            description: "The proposal, decided or still pending after the wait",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Proposal" } } },
          },
          "400": errorResponse("wait_seconds (or wait) is not 0..60, or both are given"),
          "401": errorResponse("No valid bearer token, also when the token was revoked or expired during the wait"),
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
          content: {
            "application/json": {
              schema: { type: "object", required: ["digest"], properties: { digest: { type: "string" } } },
            },
          },
        },
        responses: {
          "200": {
            description: "Redeemed: execute exactly what was approved",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Redemption" } } },
          },
          "400": errorResponse("digest is missing or malformed"),
          "401": errorResponse("No valid bearer token"),
          "404": errorResponse("No such proposal in the caller's scope"),
          "409": errorResponse("not_approved, expired, digest_mismatch or already_redeemed"),
          "503": errorResponse("No receipt-signing key or storage unavailable; nothing was redeemed"),
        },
      },
    },
    "/api/v1/tokens/{prefix}/rotate": {
      post: {
        operationId: "rotateToken",
        description:
          "Admin tokens only. Issues a new token with the same installation, scope, name and expiry and revokes the old one in the same transaction: " +
          "the old token fails from the next request on. The new token is in this answer only; it is stored only as its SHA-256.",
        parameters: [
          {
            name: "prefix",
            in: "path",
            required: true,
            schema: { type: "string", pattern: "^agt_[0-9A-Za-z]{4}$" },
            description: "the token's first 8 characters",
          },
        ],
        responses: {
          "201": {
            description: "Rotated: the new token, shown once",
            content: { "application/json": { schema: { $ref: "#/components/schemas/RotatedToken" } } },
          },
          "401": errorResponse("No valid bearer token"),
          "403": errorResponse("The bearer is not an admin token"),
          "404": errorResponse("No live token with this prefix in the caller's installation"),
          "409": errorResponse("ambiguous_prefix, or token_expired: create a new token instead"),
          "503": errorResponse("Storage is unavailable; nothing was changed"),
        },
      },
    },
    "/api/v1/openapi.json": {
      get: {
        operationId: "getOpenApi",
        security: [],
        responses: {
          "200": { description: "This document", content: { "application/json": { schema: { type: "object" } } } },
        },
      },
    },
  },
} as const;
