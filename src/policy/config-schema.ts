import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.ts";
import { rulesSchema } from "./rules-schema.ts";
import { notifySchema } from "./notify-schema.ts";

export const MIN_EXPIRY_MS = 60_000;
export const MAX_EXPIRY_MS = 90 * 86_400_000;

/** An `agents` entry: `known`, a login, or "!login" (an exclusion). */
const AGENT_ENTRY = /^!?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;
const AGENT_ENTRY_MESSAGE =
  'must be known, a GitHub login such as "seo-agent" or "my-agent[bot]", or an exclusion such as "!my-agent[bot]"';

/** A bare domain name: no scheme, port, path or spaces. */
const DOMAIN = /^[^\s/:@?#]+\.[^\s/:@?#]+$/;

function checkExpiry(text: string, ctx: z.RefinementCtx): void {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return;
  }
  if (ms < MIN_EXPIRY_MS || ms > MAX_EXPIRY_MS) {
    ctx.addIssue({
      code: "custom",
      message: `"${text}" is ${formatDuration(ms)}; the expiry must be between 1m and 90d`,
    });
  }
}

/**
 * The schema of `.github/agent-gate.yml`, exactly as a user writes it (snake
 * case, durations as text). Strict: unknown keys are errors. The descriptions
 * are the documentation (see configSchemaDescription).
 */
export const configFileSchema = z.strictObject(
  {
    agents: z
      .array(
        z.string().regex(AGENT_ENTRY, AGENT_ENTRY_MESSAGE),
        'must be a list of GitHub logins, known, or exclusions written "!name", e.g. [known, seo-agent, "!copilot"]',
      )
      .default(["known"])
      .describe(
        'Who is an agent whose pull requests and proposals are gated: `known` (the built-in list of AI coding agents, see src/policy/known-agents.ts), GitHub logins ("name" and "name[bot]" match each other), and exclusions written "!name" that remove a login, or a known agent with that login, from the list. Default [known]. When the file is absent, the known agents and every bot account are agents.',
      ),
    approvals: z
      .strictObject(
        {
          required: z
            .number("must be a whole number from 1 to 20")
            .int("must be a whole number from 1 to 20")
            .min(1, "must be at least 1")
            .max(20, "must be at most 20")
            .default(1)
            .describe("Number of distinct eligible people who must approve."),
          min_permission: z
            .enum(["write", "maintain", "admin"], 'must be one of "write", "maintain" or "admin"')
            .default("write")
            .describe("Lowest repository permission an approver must hold."),
          allow_directing_human: z
            .boolean("must be true or false")
            .default(false)
            .describe(
              "Whether the person who directed an agent's work may approve it: a human co-author (Co-authored-by) of the agent's commits, or, for an agent given its work by assignment (GitHub's Copilot coding agent), the pull request's human assignees and requested reviewers. Default false: they do not count as approvers of that work.",
            ),
        },
        "must be a mapping with the keys required, min_permission and allow_directing_human",
      )
      .prefault({}),
    rules: rulesSchema,
    expiry: z
      .string("must be a duration with a unit, such as 72h, 3d, 90m or 1d12h")
      .superRefine(checkExpiry)
      .meta({ format: "duration" })
      .default("72h")
      .describe("How long a proposal waits for a decision before it is rejected (1m to 90d), e.g. 72h, 3d, 1d12h."),
    deploy: z
      .strictObject(
        {
          environments: z
            .record(
              z.string(),
              z
                .string("must be a domain name such as example.com")
                .regex(DOMAIN, "must be a bare domain name such as example.com, without https:// or a path")
                .meta({ format: "hostname" }),
              "must be a mapping of environment name to domain, e.g. { production: example.com }",
            )
            .default({})
            .describe("Deployment environments the app protects, each mapped to the verified site it deploys to."),
        },
        "must be a mapping with the key environments",
      )
      .prefault({}),
    outreach: z
      .strictObject(
        {
          mode: z
            .enum(["pull_request", "check_run"], 'must be "pull_request" or "check_run"')
            .default("pull_request")
            .describe("How an outreach proposal is put before reviewers: a pull request or a check run."),
        },
        "must be a mapping with the key mode",
      )
      .prefault({}),
    notify: notifySchema,
  },
  "the file must be a mapping of keys (agents, approvals, rules, expiry, deploy, outreach, notify)",
);

export type ConfigFile = z.output<typeof configFileSchema>;
