import type { Settings } from "./config/settings.ts";
import pino, { type Logger } from "pino";
import pinoPretty from "pino-pretty";

/**
 * Paths that never reach a log line: authorization headers, tokens, keys,
 * webhook secrets, proposal bodies and the check-run text that shows them.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
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
  'res.headers["set-cookie"]',
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

/**
 * The app's logger: JSON lines by default (for collectors), LOG_FORMAT=pretty for a person at a terminal.
 * A child named again (`http`, `outbox`, Probot's `probot`) replaces the parent's name in its lines,
 * so no line holds the "name" key twice.
 */
export function createLogger(
  settings: Pick<Settings, "logLevel"> & Partial<Pick<Settings, "logFormat">>,
  destination?: pino.DestinationStream,
): Logger {
  const stream =
    destination ??
    (settings.logFormat === "pretty"
      ? pinoPretty({
          colorize: process.stdout.isTTY === true,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname",
          sync: true,
        })
      : undefined);
  const root = pino(
    {
      name: "agent-gate",
      level: settings.logLevel,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    stream,
  );
  const makeChild = root.child;
  // Children are made with Object.create(parent): set here, this applies to every descendant.
  root.child = function child(this: Logger, bindings, options) {
    const made = makeChild.call(this, bindings, options);
    if (bindings && Object.hasOwn(bindings, "name")) lastNameOnly(made);
    return made;
  } as Logger["child"];
  return root;
}

const CHINDINGS = pino.symbols.chindingsSym;

/** Keeps only the last "name" of a child's serialised bindings. */
function lastNameOnly(logger: object): void {
  const holder = logger as Record<symbol, string>;
  const serialised = holder[CHINDINGS] ?? "";
  const names = [...serialised.matchAll(/,"name":"(?:[^"\\]|\\.)*"/g)];
  if (names.length < 2) return;
  let kept = serialised;
  for (const name of names.slice(0, -1)) kept = kept.replace(name[0], "");
  holder[CHINDINGS] = kept;
}
