import { z } from "zod";
import { formatDuration, parseDuration } from "./duration.ts";

/** A channel name as `agent-gate channel add` takes it. */
const CHANNEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A `notify.reviewers` entry: a person's login, or an organization team written "@org/team-slug". */
const REVIEWER_ENTRY = /^(?:[A-Za-z0-9][A-Za-z0-9-]{0,38}|@[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9][A-Za-z0-9._-]*)$/;
const MIN_MS = 60_000;
const MAX_MS = 30 * 86_400_000;

const channelNames = z
  .array(
    z
      .string("must be a channel name")
      .regex(
        CHANNEL,
        "must be the name of a channel added with `agent-gate channel add` (letters, digits, '.', '_' or '-')",
      ),
    "must be a list of channel names, e.g. [deploys, oncall-mail]",
  )
  .max(20, "must name at most 20 channels");

function duration(text: string, ctx: z.RefinementCtx): void {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return;
  }
  if (ms < MIN_MS || ms > MAX_MS)
    ctx.addIssue({ code: "custom", message: `"${text}" is ${formatDuration(ms)}; it must be between 1m and 30d` });
}

const durationText = (example: string) =>
  z.string(`must be a duration with a unit, such as ${example}`).superRefine(duration).meta({ format: "duration" });

const route = z.strictObject(
  {
    kinds: z
      .array(
        z.enum(["commit", "deploy", "outreach"], 'must be "commit", "deploy" or "outreach"'),
        "must be a list of kinds",
      )
      .min(1, "must list at least one kind")
      .optional()
      .describe("Proposal kinds this route takes (commit, deploy, outreach); every kind when absent."),
    environments: z
      .array(
        z.string("must be an environment name").min(1, "must not be empty"),
        "must be a list of environment names, e.g. [production]",
      )
      .min(1, "must list at least one environment")
      .optional()
      .describe("Deploy environments this route takes (exact names); any when absent."),
    channels: channelNames
      .min(1, "must name at least one channel")
      .describe("Channels that get the proposals this route takes, besides notify.channels."),
  },
  "each route must be a mapping with the keys kinds, environments and channels",
);

/**
 * `notify:` in `.github/agent-gate.yml`: which channels hear of a waiting
 * proposal, and who is told when it stays undecided. Channel names are
 * checked against the installation's channels when a message is sent.
 */
export const notifySchema = z
  .strictObject(
    {
      reviewers: z
        .array(
          z
            .string()
            .regex(
              REVIEWER_ENTRY,
              'must be a GitHub login such as "alice" or an organization team such as "@acme/release"',
            ),
          'must be a list of logins and teams, e.g. [alice, "@acme/release"]',
        )
        .max(50, "must hold at most 50 entries")
        .default([])
        .describe(
          "People (logins) and teams (\"@org/team-slug\", of the repository's organization) whose review is requested on GitHub when an agent's pull request waits, besides the code owners and the users and teams of the rules it still needs. The agent, the author, the pusher and whoever directed the agent are never requested.",
        ),
      channels: channelNames
        .default([])
        .describe(
          "Channels told of every waiting proposal of this repository (names added with `agent-gate channel add`).",
        ),
      routes: z
        .array(
          route,
          "must be a list of routes, e.g. [{ kinds: [deploy], environments: [production], channels: [deploys] }]",
        )
        .max(20, "must hold at most 20 routes")
        .default([])
        .describe(
          "More channels by proposal kind and deploy environment: a proposal goes to every route whose kinds and environments match it.",
        ),
      escalate_after: durationText("30m, 2h or 1d")
        .optional()
        .describe(
          "When a proposal is still undecided this long after it began waiting, escalate_to is told (proposal.escalated). A timeout never approves.",
        ),
      escalate_to: channelNames
        .default([])
        .describe("Channels told when escalate_after passes; required with escalate_after."),
      remind_every: durationText("4h or 1d")
        .optional()
        .describe(
          "Remind the proposal's channels at this cadence while it waits; a warning before expiry is sent regardless.",
        ),
    },
    "must be a mapping with the keys reviewers, channels, routes, escalate_after, escalate_to and remind_every",
  )
  .superRefine((notify, ctx) => {
    if (notify.escalate_after !== undefined && notify.escalate_to.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["escalate_to"],
        message: "must name at least one channel when escalate_after is set",
      });
    }
    if (notify.escalate_after === undefined && notify.escalate_to.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["escalate_after"],
        message: "is required with escalate_to: how long a proposal waits before escalating, e.g. 30m",
      });
    }
  })
  .optional()
  .describe("Who hears of a waiting proposal: channels, routes by kind and environment, escalation and reminders.");

export type NotifyFile = z.output<typeof notifySchema>;

/** The `notify:` block, normalised (durations in ms). */
export interface NotifyConfig {
  /** Logins and "@org/team" slugs whose review is requested on a waiting agent pull request. */
  reviewers?: string[];
  channels: string[];
  routes: { kinds?: ("commit" | "deploy" | "outreach")[]; environments?: string[]; channels: string[] }[];
  escalateAfterMs?: number;
  escalateTo: string[];
  remindEveryMs?: number;
}

export function notifyFromFile(file: NonNullable<NotifyFile>): NotifyConfig {
  return {
    ...(file.reviewers.length ? { reviewers: [...file.reviewers] } : {}),
    channels: file.channels,
    routes: file.routes.map((r) => ({
      ...(r.kinds ? { kinds: r.kinds } : {}),
      ...(r.environments ? { environments: r.environments } : {}),
      channels: r.channels,
    })),
    ...(file.escalate_after !== undefined ? { escalateAfterMs: parseDuration(file.escalate_after) } : {}),
    escalateTo: file.escalate_to,
    ...(file.remind_every !== undefined ? { remindEveryMs: parseDuration(file.remind_every) } : {}),
  };
}

/** The channel names that hear of a proposal of this kind and environment: notify.channels and every matching route's. */
export function notifyChannelsFor(
  notify: NotifyConfig | undefined,
  proposal: { kind: string; environment: string | null },
): string[] {
  if (!notify) return [];
  const names = [...notify.channels];
  for (const r of notify.routes) {
    if (r.kinds && !r.kinds.includes(proposal.kind as "commit")) continue;
    if (r.environments && (proposal.environment === null || !r.environments.includes(proposal.environment))) continue;
    names.push(...r.channels);
  }
  return [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
}
