import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";

// Key-shaped strings are assembled at run time, so no key material (real or
// fake) sits in the repository for scanners to trip on.
const pemLine = (edge: "BEGIN" | "END") => `-----${edge} RSA ${"PRIVATE"} KEY-----`;

const SECRETS = {
  bearer: "Bearer agt_live_0123456789abcdefghijklmnopqrstuv",
  cookie: "session=cookie-value-that-must-not-leak",
  signature: "sha256=4f2d9c0e5b7a1e3d6c8b0a2f4e6d8c0b2a4f6e8d0c2b4a6f8e0d2c4b6a8f0e2d",
  token: `${"ghs"}_installationTokenThatMustNotLeak0123`,
  pem: `${pemLine("BEGIN")}\n${"MIIEow"}IBAAKCAQEAmustnotleak\n${pemLine("END")}`,
  secret: "webhook-secret-that-must-not-leak",
  body: "Dear customer, here is the private outreach text",
};

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ logLevel: "trace" }, sink) };
}

describe("log redaction", () => {
  it.each([
    [
      "request authorization, cookie and signature headers",
      {
        req: {
          method: "POST",
          headers: { authorization: SECRETS.bearer, cookie: SECRETS.cookie, "x-hub-signature-256": SECRETS.signature },
        },
      },
    ],
    ["bare headers", { headers: { authorization: SECRETS.bearer } }],
    [
      "an octokit error's request headers",
      {
        err: {
          message: "Bad credentials",
          request: { headers: { authorization: `token ${SECRETS.token}` } },
          response: { headers: { authorization: SECRETS.bearer } },
        },
      },
    ],
    ["a nested request's headers", { github: { request: { headers: { authorization: SECRETS.bearer } } } }],
    ["a token", { token: SECRETS.token }],
    ["a nested token", { installation: { token: SECRETS.token } }],
    ["a private key", { privateKey: SECRETS.pem }],
    ["a nested private key", { app: { privateKey: SECRETS.pem, private_key: SECRETS.pem } }],
    ["a webhook secret", { secret: SECRETS.secret, webhookSecret: SECRETS.secret }],
    ["a nested secret", { options: { secret: SECRETS.secret } }],
    ["a body", { body: SECRETS.body }],
    [
      "a proposal body, recipients and content",
      { proposal: { body: SECRETS.body, recipients: ["a@example.com"], content: SECRETS.body } },
    ],
  ])("keeps %s out of the log line", (_name, object) => {
    const { lines, log } = capture();
    log.info(object, "something happened");
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toContain("[redacted]");
    for (const value of [...Object.values(SECRETS), "a@example.com", "mustnotleak"]) expect(line).not.toContain(value);
    // The rest of the line survives.
    expect(JSON.parse(line)).toMatchObject({ msg: "something happened", name: "agent-gate" });
  });

  it("keeps what is not secret", () => {
    const { lines, log } = capture();
    log.info({ proposal: { id: "prp_1", status: "approved" }, req: { method: "GET", url: "/healthz" } }, "ok");
    expect(JSON.parse(lines[0]!)).toMatchObject({
      proposal: { id: "prp_1", status: "approved" },
      req: { method: "GET", url: "/healthz" },
    });
  });
});
