import { z } from "zod";
import { proposalKinds } from "./api-types.ts";
import { ActionError } from "./errors.ts";
import { contentIsJson, outreachContent, type OutreachContent } from "./outreach.ts";

/** Names of the inputs in action.yml; every one is read, none forgotten. */
export const inputNames = [
  "server-url",
  "kind",
  "environment",
  "site",
  "summary",
  "channel",
  "recipients",
  "subject",
  "content",
  "token",
  "audience",
  "timeout-minutes",
  "wait-seconds",
  "attest",
  "github-token",
  "artifact-name",
  "artifact-digest",
] as const;
export type InputName = (typeof inputNames)[number];

const optionalText = z
  .string()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const serverUrl = z
  .string()
  .min(1, "is required")
  .pipe(z.url({ message: "must be a URL such as https://gate.example.com" }))
  .transform((value) => new URL(value))
  .refine((url) => url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)), {
    message: "must use https (http is accepted only for localhost)",
  })
  .transform((url) => url.href.replace(/\/+$/, ""));

/** The defaults of action.yml, applied here too when an input is left empty. */
export const inputDefaults = { audience: "agent-gate", "timeout-minutes": "60", "wait-seconds": "55" } as const;

function withDefault(value: string) {
  return z.string().transform((given) => (given.trim() === "" ? value : given));
}

function integerIn(min: number, max: number, fallback: string) {
  return withDefault(fallback)
    .pipe(z.string().regex(/^\s*\d+\s*$/, `must be a whole number from ${min} to ${max}`))
    .transform((value) => Number(value))
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** As core.getBooleanInput reads YAML's booleans; empty is the default, false. */
const booleanInput = z
  .string()
  .transform((value) => value.trim())
  .pipe(z.enum(["", "true", "True", "TRUE", "false", "False", "FALSE"], { message: "must be true or false" }))
  .transform((value) => value.toLowerCase() === "true");

/** The digest of what the job ships, as `gh attestation verify` computes it for a file or an image. */
const artifactDigest = optionalText.pipe(
  z
    .string()
    .regex(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/, "must be sha256:<64 hex> or sha512:<128 hex>")
    .transform((value) => {
      const [algorithm, hex] = value.split(":") as [string, string];
      return { [algorithm]: hex };
    })
    .optional(),
);

const inputSchema = z
  .object({
    "server-url": serverUrl,
    kind: z.enum(proposalKinds, { message: `must be one of: ${proposalKinds.join(", ")}` }),
    environment: optionalText,
    site: optionalText,
    summary: z.string().min(1, "is required").max(1000, "must be at most 1000 characters"),
    channel: optionalText,
    recipients: optionalText,
    subject: optionalText,
    content: optionalText,
    token: optionalText,
    audience: withDefault(inputDefaults.audience),
    "timeout-minutes": integerIn(1, 1440, inputDefaults["timeout-minutes"]),
    "wait-seconds": integerIn(1, 60, inputDefaults["wait-seconds"]),
    attest: booleanInput,
    "github-token": optionalText,
    "artifact-name": optionalText.pipe(z.string().max(1000, "must be at most 1000 characters").optional()),
    "artifact-digest": artifactDigest,
  } satisfies Record<InputName, z.ZodType>)
  .superRefine((input, ctx) => {
    if (input.kind === "deploy" && input.environment === undefined) {
      ctx.addIssue({ code: "custom", path: ["environment"], message: "is required when kind is deploy" });
    }
    for (const name of ["artifact-name", "artifact-digest"] as const) {
      if (input[name] !== undefined && !input.attest)
        ctx.addIssue({ code: "custom", path: [name], message: "is only for attest: true" });
    }
    if (input["artifact-name"] !== undefined && input["artifact-digest"] === undefined) {
      ctx.addIssue({ code: "custom", path: ["artifact-digest"], message: "is required when artifact-name is given" });
    }
    if (input.kind !== "outreach") {
      for (const name of outreachOnly) {
        if (input[name] !== undefined)
          ctx.addIssue({ code: "custom", path: [name], message: "is only for kind outreach" });
      }
    }
  });

/** The inputs that say what an outreach sends (checked in outreach.ts). */
const outreachOnly = ["channel", "recipients", "subject", "content"] as const;

export interface Inputs {
  serverUrl: string;
  kind: (typeof proposalKinds)[number];
  environment?: string;
  site?: string;
  summary: string;
  /** What an outreach sends, checked before it is sent. */
  outreach?: OutreachContent;
  /** Whether `content` was given as the JSON object (errors then name its fields). */
  contentIsJson: boolean;
  token?: string;
  audience: string;
  timeoutMinutes: number;
  waitSeconds: number;
  /** Also record the approval with Sigstore and GitHub's attestation API (attest.ts). */
  attest: boolean;
  /** The job's token, for GitHub's attestation API. */
  githubToken?: string;
  /** What the job ships, added to the attestation's subjects so `gh attestation verify <file>` finds it. */
  artifact?: { name?: string; digest: Record<string, string> };
}

/**
 * Reads and validates the inputs. `read` returns the raw value of one input
 * (core.getInput); an error names every input at fault.
 */
export function readInputs(read: (name: InputName) => string): Inputs {
  const raw = Object.fromEntries(inputNames.map((name) => [name, read(name)]));
  const parsed = inputSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `input '${String(issue.path[0] ?? "?")}' ${issue.message}`);
    throw new ActionError(`Invalid inputs: ${problems.join("; ")}`);
  }
  const input = parsed.data;
  return {
    serverUrl: input["server-url"],
    kind: input.kind,
    environment: input.environment,
    site: input.site,
    summary: input.summary,
    ...(input.kind === "outreach" ? { outreach: outreachContent(input) } : {}),
    contentIsJson: input.kind === "outreach" && contentIsJson(input),
    token: input.token,
    audience: input.audience,
    timeoutMinutes: input["timeout-minutes"],
    waitSeconds: input["wait-seconds"],
    attest: input.attest,
    githubToken: input["github-token"],
    ...(input["artifact-digest"] === undefined
      ? {}
      : { artifact: { name: input["artifact-name"], digest: input["artifact-digest"] } }),
  };
}

export interface Workflow {
  repo: string;
  sha: string;
}

/** The repository and commit the step runs for, from the runner's environment. */
export function readWorkflow(env: NodeJS.ProcessEnv): Workflow {
  const repo = env.GITHUB_REPOSITORY ?? "";
  const sha = env.GITHUB_SHA ?? "";
  const problems: string[] = [];
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repo)) problems.push("GITHUB_REPOSITORY must be set to owner/name");
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) problems.push("GITHUB_SHA must be set to a full commit SHA");
  if (problems.length > 0) {
    throw new ActionError(`This step must run in a GitHub Actions job: ${problems.join("; ")}`);
  }
  return { repo, sha };
}
