import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { appVersion } from "../version.ts";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Principal } from "../requests/auth.ts";
import type { RequestLog } from "../requests/deps.ts";
import { ConflictError, GateError, ValidationError } from "../errors.ts";
import type { Tool } from "./tool.ts";

/** The server names itself with the package's version (package.json), as the app does everywhere. */
export const MCP_SERVER_INFO = { name: "agent-gate", version: appVersion() };

const INSTRUCTIONS =
  "Agent Gate makes you ask a person before you deploy or send outreach. " +
  "Propose with propose_deploy or propose_outreach (the site must be one list_sites returns), give the person the review link (url), " +
  "wait with get_proposal (wait_seconds), and only when it is approved call redeem_approval with the digest of exactly what you will execute. " +
  "Never execute a proposal that is not approved and redeemed.";

/**
 * One MCP server for one authenticated caller. Tool schemas are the zod
 * schemas of the HTTP API, published as JSON Schema; arguments are checked
 * here, so a malformed call answers a tool error naming each field, in the
 * same words as the API's 400.
 */
export function createMcpServer(
  tools: Tool[],
  principal: Principal,
  reauthenticate: () => Promise<void>,
  log?: RequestLog,
): Server {
  const server = new Server(MCP_SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const byName = new Map(tools.map((t) => [t.name, t]));

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: z.toJSONSchema(t.input, { io: "input" }) as { type: "object"; [key: string]: unknown },
      annotations: {
        title: t.title,
        readOnlyHint: t.readOnly,
        destructiveHint: false,
        idempotentHint: t.readOnly,
        openWorldHint: false,
      },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const t = byName.get(request.params.name);
    if (!t)
      return toolError(
        new GateError("unknown_tool", `There is no tool named ${request.params.name}; call tools/list.`, {
          status: 404,
        }),
      );
    const args = request.params.arguments ?? {};
    const progressToken = request.params._meta?.progressToken;
    try {
      const parsed = t.input.safeParse(args);
      if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
      const result = await t.run(
        {
          principal,
          reauthenticate,
          signal: extra.signal,
          progress:
            progressToken === undefined
              ? null
              : (progress, total, message) =>
                  extra.sendNotification({
                    method: "notifications/progress",
                    params: { progressToken, progress, total, message },
                  }),
        },
        parsed.data,
      );
      log?.info({ tool: t.name, outcome: "ok" }, "MCP tool call");
      return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: result };
    } catch (error) {
      if (!(error instanceof GateError) || error.status >= 500)
        log?.warn({ tool: t.name, err: error }, "MCP tool call failed");
      else log?.info({ tool: t.name, outcome: error.code }, "MCP tool call refused");
      // A conflict (not approved, expired, digest mismatch, already redeemed) is about a proposal the caller can see.
      const parsed = t.input.safeParse(args);
      const link = error instanceof ConflictError && parsed.success ? t.link?.(parsed.data) : undefined;
      return toolError(error, link);
    }
  });
  return server;
}

/** Each zod issue as the field it names, as the API's 400 does. */
function fieldIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.join(".");
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({ field: at ? `${at}.${key}` : key, message: "is not a known field" }));
    return [{ field: at || "arguments", message: issue.message }];
  });
}

/**
 * A refused or failed call as a tool error the agent can act on. A GateError
 * shows its own message (written never to hold a secret or outreach text);
 * anything else is a generic failure whose detail stays in the log.
 */
function toolError(error: unknown, url?: string): CallToolResult {
  const refusal =
    error instanceof ValidationError
      ? { error: { code: error.code, message: error.message, fields: error.issues } }
      : error instanceof GateError
        ? { error: { code: error.code, message: error.message } }
        : { error: { code: "internal", message: "The call failed; nothing was changed. Try again." } };
  const body = url ? { ...refusal, url } : refusal;
  return { content: [{ type: "text", text: JSON.stringify(body) }], structuredContent: body, isError: true };
}
