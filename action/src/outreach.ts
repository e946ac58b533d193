import { z } from "zod";
import { ActionError } from "./errors.ts";

/**
 * What an outreach proposal sends, as the app's API takes it:
 * `content: {channel, recipients, subject?, body}`. The step builds it from
 * the inputs `channel`, `recipients` (comma- or newline-separated), `subject`
 * and `content` (the text), or takes `content` as that JSON object whole.
 * Checked here before anything is sent, each fault naming the input.
 */

export const outreachChannels = ["email", "post", "message", "api"] as const;
export const MAX_RECIPIENTS = 1000;
export const MAX_SUBJECT_CHARS = 998;

export interface OutreachContent {
  channel: (typeof outreachChannels)[number];
  recipients: string[];
  subject?: string;
  body: string;
}

/** The inputs that say what an outreach sends; empty strings are "not given". */
export interface OutreachInputs {
  channel?: string;
  recipients?: string;
  subject?: string;
  content?: string;
}

const channel = z.enum(outreachChannels, { message: `must be one of: ${outreachChannels.join(", ")}` });
const recipients = z
  .array(z.string({ message: "must be a list of strings" }).trim().min(1, "must not hold an empty recipient"), {
    message: "must be a list of recipients",
  })
  .min(1, "must name at least one recipient")
  .max(MAX_RECIPIENTS, `must name at most ${MAX_RECIPIENTS} recipients`);
const subject = z
  .string({ message: "must be a string" })
  .max(MAX_SUBJECT_CHARS, `must be at most ${MAX_SUBJECT_CHARS} characters`);
const body = z.string({ message: "must be a string: the text to send" }).min(1, "must not be empty");

const jsonContent = z.strictObject({ channel, recipients, subject: subject.optional(), body });

/** Splits the `recipients` input: commas or newlines, blanks around each ignored. */
export function splitRecipients(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** `content` is the JSON object form when no `channel` is given and it reads as an object. */
function isJsonForm(input: OutreachInputs): boolean {
  return (
    input.channel === undefined && input.recipients === undefined && (input.content ?? "").trimStart().startsWith("{")
  );
}

/** The outreach content of the inputs, or an ActionError naming every input at fault. */
export function outreachContent(input: OutreachInputs): OutreachContent {
  if (isJsonForm(input)) return fromJson(input);
  const problems: string[] = [];
  const check = <T>(name: string, schema: z.ZodType<T>, value: unknown): T | undefined => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    problems.push(`input '${name}' ${parsed.error.issues[0]?.message ?? "is invalid"}`);
    return undefined;
  };
  const requiredHint = "is required when kind is outreach";
  if (input.channel === undefined)
    problems.push(
      `input 'channel' ${requiredHint} (${outreachChannels.join(", ")}), or give 'content' as a JSON object {channel, recipients, subject?, body}`,
    );
  if (input.recipients === undefined) problems.push(`input 'recipients' ${requiredHint} (comma- or newline-separated)`);
  if (input.content === undefined) problems.push(`input 'content' ${requiredHint}: the text to send`);
  const parsedChannel = input.channel === undefined ? undefined : check("channel", channel, input.channel.trim());
  const parsedRecipients =
    input.recipients === undefined ? undefined : check("recipients", recipients, splitRecipients(input.recipients));
  const parsedSubject = input.subject === undefined ? undefined : check("subject", subject, input.subject);
  if (problems.length > 0) throw new ActionError(`Invalid inputs: ${problems.join("; ")}`);
  return {
    channel: parsedChannel!,
    recipients: parsedRecipients!,
    ...(parsedSubject === undefined ? {} : { subject: parsedSubject }),
    body: input.content!,
  };
}

function fromJson(input: OutreachInputs): OutreachContent {
  if (input.subject !== undefined) {
    throw new ActionError(
      "Invalid inputs: input 'subject' must be empty when 'content' is a JSON object (put the subject inside it)",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(input.content!);
  } catch (cause) {
    throw new ActionError(
      `Invalid inputs: input 'content' starts with '{' but is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}); give the object {channel, recipients, subject?, body}, or the text with the 'channel' and 'recipients' inputs`,
    );
  }
  const parsed = jsonContent.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") return `input 'content' has unknown field(s) ${issue.keys.join(", ")}`;
      const field = issue.path.length > 0 ? ` field '${issue.path.join(".")}'` : "";
      return `input 'content'${field} ${issue.message}`;
    });
    throw new ActionError(
      `Invalid inputs: ${problems.join("; ")} (content must be a JSON object {channel, recipients, subject?, body})`,
    );
  }
  return parsed.data;
}

/**
 * The input a field the app refused came from, so an error reads in the
 * workflow's words: `content.recipients.2` is the third recipient.
 */
export function inputForField(field: string, jsonForm: boolean): string {
  const [head, name, index] = field.split(".");
  if (head !== "content" || name === undefined) return stepInputs.has(field) ? `input '${field}'` : field;
  if (jsonForm) return `input 'content' field '${field.slice("content.".length)}'`;
  const inputName = name === "body" ? "content" : name;
  return index === undefined ? `input '${inputName}'` : `input '${inputName}' item ${Number(index) + 1}`;
}

/** Fields of the request body that are inputs of the same name (repo and sha come from the runner). */
const stepInputs = new Set(["kind", "environment", "site", "summary", "content"]);

export { isJsonForm as contentIsJson };
