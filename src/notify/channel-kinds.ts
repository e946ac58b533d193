import { z } from "zod";

/**
 * The four kinds of channel and what each holds: its secrets (sealed under
 * the keyring, never shown again) and its settings (kept in the clear,
 * shown by `channel list`). One zod schema each, parsed where a row is read.
 */
export const CHANNEL_TYPES = ["slack", "teams", "email", "webhook"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const CHANNEL_NAME_MESSAGE =
  "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. deploys)";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** An https:// URL (http:// only to this machine, for a local receiver or a test). */
export function endpointUrl(what: string) {
  return z.string(`must be ${what}`).refine((text) => {
    try {
      const url = new URL(text);
      return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.test(url.hostname));
    } catch {
      return false;
    }
  }, `must be ${what}: an https:// URL (http:// only to localhost)`);
}

const EMAIL = z
  .string()
  .regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/, "must be an email address such as gate@example.com");

const smtpUrl = z.string("must be smtp://user:pass@host:port or smtps://…").refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === "smtp:" || url.protocol === "smtps:") && url.hostname !== "";
  } catch {
    return false;
  }
}, "must be smtp://user:pass@host:port or smtps://user:pass@host:port");

export const SECRET_SCHEMAS = {
  slack: z.strictObject({
    token: z
      .string("is required: the Slack app's bot token (xoxb-…)")
      .regex(/^xox[bpe]-[A-Za-z0-9-]{8,}$/, "must be a Slack bot token (xoxb-…)"),
    signing_secret: z
      .string("is required: the Slack app's signing secret")
      .regex(
        /^[A-Za-z0-9]{16,128}$/,
        "must be the Slack app's signing secret (letters and digits, from Basic Information)",
      ),
  }),
  teams: z.strictObject({ url: endpointUrl("the Teams Workflows webhook URL") }),
  email: z.strictObject({ smtp_url: smtpUrl }),
  webhook: z.strictObject({
    url: endpointUrl("the receiver's URL"),
    secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{24,}$/, "must be whsec_ and base64"),
  }),
} as const;

export const SETTINGS_SCHEMAS = {
  slack: z.strictObject({
    channel: z
      .string("is required: the Slack channel, e.g. #deploys or C0123ABCDEF")
      .regex(
        /^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{6,20})$/,
        "must be a Slack channel such as #deploys or a channel id such as C0123ABCDEF",
      ),
  }),
  teams: z.strictObject({ host: z.string() }),
  email: z.strictObject({
    from: EMAIL,
    to: z.array(EMAIL).min(1, "needs at least one address").max(50, "takes at most 50 addresses"),
  }),
  webhook: z.strictObject({ host: z.string() }),
} as const;

export type ChannelSecret<T extends ChannelType> = z.infer<(typeof SECRET_SCHEMAS)[T]>;
export type ChannelSettings<T extends ChannelType> = z.infer<(typeof SETTINGS_SCHEMAS)[T]>;

/** A channel with its secrets opened: what a sender needs. */
export type OpenChannel = {
  [T in ChannelType]: {
    id: string;
    installationId: number;
    name: string;
    type: T;
    settings: ChannelSettings<T>;
    secret: ChannelSecret<T>;
  };
}[ChannelType];
