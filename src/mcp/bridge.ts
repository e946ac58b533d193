import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { isJSONRPCRequest, isJSONRPCResultResponse, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { isWellFormedToken } from "../tokens/format.ts";
import { ValidationError } from "../errors.ts";

export interface BridgeSettings {
  /** The /mcp endpoint of a running Agent Gate. */
  endpoint: URL;
  token: string;
}

/**
 * AGENT_GATE_URL (the app's public URL, or its /mcp endpoint) and
 * AGENT_GATE_TOKEN (an MCP key), checked before anything is sent. Messages
 * name the variable at fault and never repeat its value.
 */
export function bridgeSettings(env: NodeJS.ProcessEnv): BridgeSettings {
  const issues: { field: string; message: string }[] = [];
  let endpoint: URL | null = null;
  const raw = env.AGENT_GATE_URL ?? "";
  try {
    endpoint = new URL(raw);
  } catch {
    issues.push({
      field: "AGENT_GATE_URL",
      message: "is required: the URL of a running Agent Gate, such as https://gate.example.com",
    });
  }
  if (endpoint && endpoint.protocol !== "https:" && endpoint.protocol !== "http:") {
    issues.push({ field: "AGENT_GATE_URL", message: "must be an http or https URL" });
  }
  if (endpoint && endpoint.protocol === "http:" && !isLoopback(endpoint.hostname)) {
    issues.push({
      field: "AGENT_GATE_URL",
      message:
        "must use https: over http:// the MCP key would cross the network readable by anyone on the way; http is accepted only for loopback (127.0.0.0/8, ::1, localhost)",
    });
  }
  if (endpoint && (endpoint.username || endpoint.password)) {
    issues.push({ field: "AGENT_GATE_URL", message: "must not carry credentials; put the key in AGENT_GATE_TOKEN" });
  }
  const token = env.AGENT_GATE_TOKEN ?? "";
  if (token === "") {
    issues.push({
      field: "AGENT_GATE_TOKEN",
      message: "is required: an Agent Gate MCP key (agt_…), as `agent-gate token create` prints it",
    });
  } else if (!isWellFormedToken(token)) {
    issues.push({
      field: "AGENT_GATE_TOKEN",
      message:
        "is malformed: an MCP key is agt_ followed by letters and digits ending in a checksum, and this one does not check out; copy it whole, as `agent-gate token create` printed it",
    });
  }
  if (issues.length > 0 || !endpoint) throw new ValidationError(issues);
  if (!/\/mcp\/?$/.test(endpoint.pathname)) endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, "")}/mcp`;
  endpoint.search = "";
  endpoint.hash = "";
  return { endpoint, token };
}

/** Loopback only: 127.0.0.0/8, ::1 and localhost (the hostname as URL gives it). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The stdio bridge: every JSON-RPC message read from stdin is posted to the
 * app's /mcp endpoint with the key as bearer, and everything the app answers
 * (results, errors, progress) is written to stdout. A request the app cannot
 * be asked (refused key, unreachable) is answered with a JSON-RPC error saying
 * so. When stdin ends, the requests already sent are let finish and their
 * answers written before it resolves.
 */
export async function runBridge(
  settings: BridgeSettings,
  io: { stdin: Readable; stdout: Writable; log: (text: string) => void },
): Promise<void> {
  const remote = new StreamableHTTPClientTransport(settings.endpoint, {
    requestInit: { headers: { authorization: `Bearer ${settings.token}` } },
  });
  const local = new StdioServerTransport(io.stdin, io.stdout);
  const where = settings.endpoint.origin + settings.endpoint.pathname;
  const pending = new Map<string | number, string>();
  let drained: (() => void) | undefined;
  const settle = (id: string | number) => {
    pending.delete(id);
    if (pending.size === 0) drained?.();
  };

  const forwardError = async (message: JSONRPCMessage, error: unknown) => {
    const text = describe(error, where);
    io.log(`agent-gate mcp: ${text}`);
    if (isJSONRPCRequest(message)) {
      try {
        await local.send({ jsonrpc: "2.0", id: message.id, error: { code: -32001, message: text } });
      } finally {
        settle(message.id);
      }
    }
  };

  remote.onmessage = (message) => {
    if (isJSONRPCResultResponse(message) && pending.get(message.id) === "initialize") {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === "string") remote.setProtocolVersion(version);
    }
    const answered = "id" in message && message.id !== undefined && !("method" in message) ? message.id : undefined;
    local
      .send(message)
      .catch((error: unknown) => io.log(`agent-gate mcp: could not write to stdout: ${String(error)}`))
      .finally(() => {
        if (answered !== undefined) settle(answered);
      });
  };
  remote.onerror = (error) => io.log(`agent-gate mcp: ${describe(error, where)}`);
  local.onmessage = (message) => {
    if (isJSONRPCRequest(message)) pending.set(message.id, message.method);
    remote
      .send(message)
      .catch((error: unknown) =>
        forwardError(message, error).catch((failed: unknown) =>
          io.log(`agent-gate mcp: could not write to stdout: ${String(failed)}`),
        ),
      );
  };
  local.onerror = (error) => io.log(`agent-gate mcp: bad input on stdin: ${error.message}`);

  const ended = new Promise<void>((resolve) => {
    io.stdin.once("end", resolve);
    io.stdin.once("close", resolve);
  });
  await remote.start();
  await local.start();
  io.log(`agent-gate mcp: bridging stdio to ${where}`);
  await ended;
  // stdin closing is the client saying it sends nothing more, not that it
  // takes back what it asked: requests in flight finish and are answered.
  if (pending.size > 0) {
    io.log(`agent-gate mcp: stdin closed; finishing ${pending.size} request(s) in flight`);
    await new Promise<void>((resolve) => {
      drained = resolve;
      if (pending.size === 0) resolve();
    });
  }
  await local.close();
  await remote.close();
}

/** What went wrong talking to the app, without the key. */
function describe(error: unknown, where: string): string {
  if (error instanceof StreamableHTTPError) {
    if (error.code === 401)
      return `Agent Gate at ${where} refused the key (401): AGENT_GATE_TOKEN is unknown, revoked or expired.`;
    if (error.code === 403) return `Agent Gate at ${where} refused the request (403).`;
    return `Agent Gate at ${where} answered ${error.code}; try again.`;
  }
  const cause = error instanceof Error ? error.message : String(error);
  return `Agent Gate at ${where} could not be reached (${cause.replaceAll(/agt_[0-9A-Za-z]+/g, "agt_…")}); check AGENT_GATE_URL and that the app is running.`;
}
