import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { authenticate } from "../requests/auth.ts";
import { readBody, sendJson } from "../http/io.ts";
import type { RequestDeps } from "../requests/deps.ts";
import { OUTREACH_REQUEST_LIMIT } from "../requests/limits.ts";
import type { Route } from "../http/router.ts";
import { createMcpServer } from "./server.ts";
import { mcpTools } from "./tools.ts";

/**
 * `POST /mcp`: the Streamable HTTP transport, stateless. Every request is
 * authenticated on its own (the same agent tokens, the same 401 as the API,
 * before the body is read), and gets a server of its own that lives as long
 * as the request, so any replica can answer any request and no session is
 * kept anywhere. A waiting get_proposal streams its progress as server-sent
 * events on the response of its own request. GET and DELETE /mcp (standalone
 * streams, session ends) are answered 405, as stateless servers do.
 */
export function mcpRoutes(deps: RequestDeps): Route[] {
  const tools = mcpTools(deps);
  return [
    {
      method: "POST",
      path: "/mcp",
      handler: async ({ req, res }) => {
        const principal = await authenticate(deps, req);
        const raw = await readBody(req, OUTREACH_REQUEST_LIMIT);
        let message: unknown;
        try {
          message = JSON.parse(raw.toString("utf8")) as unknown;
        } catch {
          sendJson(res, 400, {
            jsonrpc: "2.0",
            error: { code: -32700, message: "Parse error: the body must be a JSON-RPC message" },
            id: null,
          });
          return;
        }
        const reauthenticate = async () => {
          await authenticate(deps, req);
        };
        const server = createMcpServer(tools, principal, reauthenticate, deps.log);
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on("close", () => {
          // Ends the request's server: an unfinished wait is aborted with it.
          server.close().catch((error: unknown) => deps.log?.warn({ err: error }, "MCP server did not close cleanly"));
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, message);
      },
    },
  ];
}
