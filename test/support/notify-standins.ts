import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

export interface SlackCall {
  method: string;
  token: string | undefined;
  args: Record<string, unknown>;
}

/**
 * A Slack Web API stand-in on loopback: records each call with its bearer
 * token and arguments (form fields, JSON-encoded ones parsed) and answers as
 * Slack documents (chat.postMessage, chat.update, chat.postEphemeral).
 * Unknown methods answer `unknown_method`; a call missing a required
 * argument answers Slack's own error.
 */
export interface SlackStandIn {
  url: string;
  calls: SlackCall[];
  /** Answer every chat.postMessage with this Slack error (e.g. channel_not_found). */
  failWith: string | null;
  close(): Promise<void>;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const calls: SlackCall[] = [];
  let n = 0;
  const state: SlackStandIn = { url: "", calls, failWith: null, close: async () => {} };
  const server = createServer((req, res) => {
    void (async () => {
      const method = (req.url ?? "").replace(/^\/api\//, "").replace(/^\//, "");
      const text = await body(req);
      const args: Record<string, unknown> = {};
      if ((req.headers["content-type"] ?? "").includes("json")) Object.assign(args, JSON.parse(text) as object);
      else for (const [k, v] of new URLSearchParams(text)) args[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "") || undefined;
      calls.push({ method, token, args });
      const answer = (json: object) =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json));
      if (!token) return answer({ ok: false, error: "not_authed" });
      const required: Record<string, string[]> = {
        "chat.postMessage": ["channel"],
        "chat.update": ["channel", "ts"],
        "chat.postEphemeral": ["channel", "user", "text"],
      };
      if (!(method in required)) return answer({ ok: false, error: "unknown_method" });
      const missing = required[method]!.find((k) => args[k] === undefined);
      if (missing)
        return answer({ ok: false, error: missing === "channel" ? "channel_not_found" : "invalid_arguments" });
      if (method === "chat.postMessage" && state.failWith) return answer({ ok: false, error: state.failWith });
      if (method === "chat.postMessage") {
        n += 1;
        return answer({
          ok: true,
          channel: "C0DEPLOYS1",
          ts: `1700000000.${String(n).padStart(6, "0")}`,
          message: { text: args.text },
        });
      }
      if (method === "chat.update") return answer({ ok: true, channel: args.channel, ts: args.ts, text: args.text });
      return answer({ ok: true, message_ts: "1700000001.000001" });
    })();
  });
  state.url = `${await listen(server)}/api/`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
  user: string | undefined;
}

/** A real SMTP server on loopback (smtp-server), with a login; STARTTLS off (plain SMTP on loopback). */
export async function startSmtpServer(
  user: string,
  pass: string,
): Promise<{ port: number; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === pass) callback(null, { user });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString("utf8"),
          user: typeof session.user === "string" ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface ReceivedHook {
  id: string;
  body: { type: string; proposal: Record<string, unknown> };
}

/** A Standard Webhooks receiver: verifies each delivery with the library's own Webhook.verify; unverified ones get 401 and are kept apart. */
export async function startWebhookReceiver(): Promise<{
  url: string;
  setSecret(secret: string): void;
  received: ReceivedHook[];
  refused: number;
  close(): Promise<void>;
}> {
  let secret = "";
  const state = { received: [] as ReceivedHook[], refused: 0 };
  const server = createServer((req, res) => {
    void (async () => {
      const text = await body(req);
      try {
        const verified = new Webhook(secret).verify(
          text,
          req.headers as Record<string, string>,
        ) as ReceivedHook["body"];
        state.received.push({ id: String(req.headers["webhook-id"]), body: verified });
        res.writeHead(204).end();
      } catch {
        state.refused += 1;
        res.writeHead(401).end();
      }
    })();
  });
  const url = await listen(server);
  return {
    url: `${url}/hook`,
    setSecret: (s) => (secret = s),
    received: state.received,
    get refused() {
      return state.refused;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A Slack interaction request signed as Slack signs it (v0). */
export function signedInteraction(
  secret: string,
  payload: unknown,
  timestamp = Math.floor(Date.now() / 1000),
): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
  return {
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": signature,
    },
  };
}
