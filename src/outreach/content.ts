import { hiddenCharacterProblem } from "../policy/reviewer-text.ts";
import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.ts";
import { GateError, ValidationError } from "../errors.ts";

export const OUTREACH_CHANNELS = ["email", "post", "message", "api"] as const;
export type OutreachChannel = (typeof OUTREACH_CHANNELS)[number];

/** The body is limited in UTF-8 bytes; beyond it the request is answered 413 and nothing is stored. */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_RECIPIENTS = 1000;
export const MAX_SUBJECT_CHARS = 998;

/** What an outreach proposal will send; private text, sealed at rest. */
export interface OutreachContent {
  channel: OutreachChannel;
  recipients: string[];
  subject: string | null;
  body: string;
}

/*
 * Recipients, by channel:
 * - email: an address local@domain; the domain is letters, digits and hyphens in
 *   dot-separated labels (IDNs in punycode); no whitespace or control characters.
 * - api: an https URL without credentials (the endpoint written to).
 * - post, message: a handle of 1-256 characters with no whitespace, control,
 *   format (bidi, zero-width) or unassigned characters, e.g. `@name`,
 *   `name@instance.example`, `#channel`.
 */
const EMAIL =
  /^[^\s@\p{C}]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/u;
const HANDLE = /^[^\s\p{C}]{1,256}$/u;

export function recipientProblem(channel: OutreachChannel, recipient: string): string | null {
  if (channel === "email") return EMAIL.test(recipient) ? null : "must be an email address local@domain";
  if (channel === "api") {
    let url: URL;
    try {
      url = new URL(recipient);
    } catch {
      return "must be an https URL";
    }
    if (url.protocol !== "https:") return "must be an https URL";
    if (url.username || url.password) return "must not carry credentials";
    if (recipient.length > 2048 || /[\s\p{C}]/u.test(recipient))
      return "must be an https URL of at most 2048 printable characters";
    return null;
  }
  return HANDLE.test(recipient) ? null : "must be a handle of 1-256 characters without spaces or invisible characters";
}

export const contentSchema = z.strictObject({
  channel: z.enum(OUTREACH_CHANNELS, { error: "must be one of email, post, message, api" }),
  recipients: z
    .array(z.string({ error: "must be a string" }), { error: "must be a list of recipients" })
    .min(1, "must name at least one recipient")
    .max(MAX_RECIPIENTS, `must name at most ${MAX_RECIPIENTS} recipients`),
  subject: z
    .string({ error: "must be a string" })
    .max(MAX_SUBJECT_CHARS, `must be at most ${MAX_SUBJECT_CHARS} characters`)
    .optional(),
  body: z.string({ error: "is required: the text to send" }).min(1, "must not be empty"),
});

/**
 * Validate an outreach proposal's `content`. A body over 256 KB is a 413 (the
 * only size answer); every other fault is a 400 naming the field. Messages
 * never quote the text or the addresses.
 */
export function parseOutreachContent(value: unknown): OutreachContent {
  if (value && typeof value === "object" && typeof (value as { body?: unknown }).body === "string") {
    const bytes = Buffer.byteLength((value as { body: string }).body, "utf8");
    if (bytes > MAX_BODY_BYTES) {
      throw new GateError(
        "payload_too_large",
        `content.body is ${bytes} bytes; outreach bodies are limited to ${MAX_BODY_BYTES} bytes.`,
        { status: 413 },
      );
    }
  }
  const result = contentSchema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(
      result.error.issues.flatMap((issue) => {
        if (issue.code === "unrecognized_keys")
          return issue.keys.map((key) => ({ field: `content.${key}`, message: "is not a known field" }));
        return [{ field: ["content", ...issue.path].join("."), message: issue.message }];
      }),
    );
  }
  const { channel, recipients, subject, body } = result.data;
  const issues: { field: string; message: string }[] = [];
  const seen = new Set<string>();
  recipients.forEach((recipient, index) => {
    const problem = recipientProblem(channel, recipient);
    if (problem) issues.push({ field: `content.recipients.${index}`, message: problem });
    else if (seen.has(recipient.toLowerCase()))
      issues.push({ field: `content.recipients.${index}`, message: "appears twice" });
    seen.add(recipient.toLowerCase());
  });
  const subjectProblem = subject === undefined ? null : hiddenCharacterProblem(subject);
  if (subjectProblem) issues.push({ field: "content.subject", message: subjectProblem });
  if (issues.length > 0) throw new ValidationError(issues);
  return { channel, recipients, subject: subject ?? null, body };
}

/** SHA-256 (hex) of the RFC 8785 canonical JSON of everything an approval binds. */
export function outreachDigest(repo: string, site: string, content: OutreachContent): string {
  const canonical = canonicalJson({
    kind: "outreach",
    repo,
    channel: content.channel,
    recipients: content.recipients,
    subject: content.subject,
    body: content.body,
    site,
  });
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}

/** What audit events and logs may hold about an outreach proposal: never the text or the addresses. */
export function outreachFacts(
  digest: string,
  content: OutreachContent,
): { digest: string; channel: OutreachChannel; recipients: number } {
  return { digest, channel: content.channel, recipients: content.recipients.length };
}
