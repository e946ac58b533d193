import type { IncomingMessage, ServerResponse } from "node:http";
import { GateError, ValidationError } from "../errors.ts";

/** Read a request body up to `limit` bytes; beyond it, 413 and nothing is parsed. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new GateError("payload_too_large", `The body exceeds ${limit} bytes.`, { status: 413 });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new GateError("payload_too_large", `The body exceeds ${limit} bytes.`, { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch {
    throw new ValidationError([{ field: "body", message: "must be valid JSON" }]);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

/**
 * Render any error as the API's error body. A GateError shows its own message;
 * anything else is an internal error whose detail stays in the log.
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof ValidationError) {
    sendJson(res, error.status, { error: { code: error.code, message: error.message, fields: error.issues } });
    return;
  }
  if (error instanceof GateError) {
    const headers: Record<string, string> = error.status === 401 ? { "www-authenticate": "Bearer" } : {};
    sendJson(res, error.status, { error: { code: error.code, message: error.message } }, headers);
    return;
  }
  sendJson(res, 500, { error: { code: "internal", message: "The request failed; nothing was changed. Try again." } });
}
