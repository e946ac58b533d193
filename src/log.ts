import type { Settings } from "./config/settings.ts";
import pino, { type Logger } from "pino";

/**
 * Paths that never reach a log line: authorization headers, tokens, keys,
 * webhook secrets, proposal bodies and the check-run text that shows them.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers[\"x-hub-signature-256\"]",
  "req.headers[\"x-hub-signature\"]",
  "headers.authorization",
  "*.headers.authorization",
  "*.request.headers.authorization",
  "err.request.headers.authorization",
  "err.response.headers.authorization",
  "token",
  "*.token",
  "privateKey",
  "*.privateKey",
  "private_key",
  "*.private_key",
  "secret",
  "*.secret",
  "webhookSecret",
  "access_token",
  "*.access_token",
  "client_secret",
  "*.client_secret",
  "res.headers[\"set-cookie\"]",
  "body",
  "*.body",
  "recipients",
  "*.recipients",
  "content",
  "*.content",
  // Octokit's debug line spreads a request's parameters: check-run output can hold outreach text.
  "output",
  "*.output",
  "text",
  "*.text",
];

export function createLogger(settings: Pick<Settings, "logLevel">, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: "agent-gate",
      level: settings.logLevel,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination,
  );
}
