import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { resolveKeyring } from "../crypto/keyring.ts";
import { ValidationError } from "../errors.ts";
import { addChannel, listChannels, removeChannel, type ChannelView } from "../notify/channels.ts";
import { testChannel } from "../notify/channel-test.ts";
import { EXIT } from "./context.ts";
import type { CliContext } from "./context.ts";
import { INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import { jsonOutput } from "./snake-json.ts";

const ACTOR = "cli";

/** A secret from its flag, its `--…-file`, or standard input when the flag is "-". */
function secretOf(
  value: string | undefined,
  file: string | undefined,
  flag: string,
  stdin: () => string,
): string | undefined {
  if (value !== undefined && file !== undefined)
    throw new ValidationError([{ field: flag, message: `give ${flag} or ${flag}-file, not both` }]);
  if (file !== undefined) return readFileSync(file, "utf8").trim();
  if (value === "-") return stdin();
  return value;
}

function table(channels: ChannelView[]): string {
  if (channels.length === 0) return "no channels";
  const rows = [
    ["NAME", "TYPE", "WHERE", "ADDED"],
    ...channels.map((c) => [
      c.name,
      c.type,
      String(
        c.settings.channel ??
          c.settings.host ??
          (Array.isArray(c.settings.to) ? `${c.settings.to.length} recipient(s)` : ""),
      ),
      c.created_at,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

interface AddFlags {
  installation: string;
  token?: string;
  tokenFile?: string;
  signingSecret?: string;
  signingSecretFile?: string;
  channel?: string;
  url?: string;
  urlFile?: string;
  smtpUrl?: string;
  smtpUrlFile?: string;
  from?: string;
  to?: string[];
  json?: boolean;
}

/** `agent-gate channel add|list|remove`: where Agent Gate tells people a proposal waits. */
export function registerChannel(program: Command, ctx: CliContext): void {
  const channel = program
    .command("channel")
    .description("Notification channels (Slack, Teams, email, signed webhooks) of an installation.");
  const keyring = () => {
    const storage = ctx.settings().storage;
    return resolveKeyring(ctx.settings().keys, {
      dataDir: storage.dataDir,
      embedded: !storage.databaseUrl,
      log: (msg) => ctx.err(msg),
      now: ctx.now(),
    });
  };
  let stdinRead = false;
  const stdin = () => {
    if (stdinRead) throw new ValidationError([{ field: "-", message: "only one secret can come from standard input" }]);
    stdinRead = true;
    return readFileSync(0, "utf8").trim();
  };

  channel
    .command("add <type> <name>")
    .description(
      "Add a channel: slack (--token, --signing-secret, --channel), teams (--url), email (--smtp-url, --from, --to), webhook (--url; prints its whsec_ signing secret once). A secret given as - is read from standard input.",
    )
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--token <xoxb>", "Slack bot token")
    .option("--token-file <path>", "file holding the Slack bot token")
    .option("--signing-secret <secret>", "Slack signing secret")
    .option("--signing-secret-file <path>", "file holding the Slack signing secret")
    .option("--channel <channel>", "Slack channel (#deploys or an id)")
    .option("--url <url>", "Teams Workflows webhook URL, or the webhook receiver's URL")
    .option("--url-file <path>", "file holding the URL")
    .option("--smtp-url <url>", "smtp[s]://user:pass@host:port")
    .option("--smtp-url-file <path>", "file holding the SMTP URL")
    .option("--from <address>", "sender address")
    .option("--to <address>", "recipient (repeatable, or comma-separated)", (value: string, all: string[] = []) => [
      ...all,
      ...value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean),
    ])
    .option("--json", "print the channel as JSON")
    .action(async (type: string, name: string, flags: AddFlags) => {
      const input = {
        type,
        name,
        token: secretOf(flags.token, flags.tokenFile, "--token", stdin),
        signingSecret: secretOf(flags.signingSecret, flags.signingSecretFile, "--signing-secret", stdin),
        channel: flags.channel,
        url: secretOf(flags.url, flags.urlFile, "--url", stdin),
        smtpUrl: secretOf(flags.smtpUrl, flags.smtpUrlFile, "--smtp-url", stdin),
        from: flags.from,
        to: flags.to,
      };
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const added = await addChannel(db, keyring(), id, input, ACTOR, ctx.now());
      if (flags.json)
        ctx.out(jsonOutput({ channel: added.channel, ...(added.secret ? { signing_secret: added.secret } : {}) }));
      else {
        ctx.out(`channel ${added.channel.name} (${added.channel.type}) added for installation ${id}`);
        if (added.secret) ctx.out(`signing secret (shown only this once; give it to the receiver): ${added.secret}`);
      }
    });

  channel
    .command("list")
    .description("Show an installation's channels (never their secrets).")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--json", "print the channels as JSON")
    .action(async (flags: { installation: string; json?: boolean }) => {
      const db = await ctx.openDb();
      const channels = await listChannels(db, await resolveInstallation(db, flags.installation));
      ctx.out(flags.json ? jsonOutput({ channels }) : table(channels));
    });

  channel
    .command("test <name>")
    .description("Send a test message to a channel now; exit 0 when it was accepted, 1 when not.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .action(async (name: string, flags: { installation: string }) => {
      const db = await ctx.openDb();
      const settings = ctx.settings();
      const result = await testChannel(db, keyring(), await resolveInstallation(db, flags.installation), name, {
        actor: ACTOR,
        now: ctx.now(),
        publicUrl: settings.publicUrl ?? "http://localhost:3000",
        slackApiUrl: settings.slackApiUrl,
      });
      if (result.ok) ctx.out(`test message sent to ${name}`);
      else {
        ctx.err(`test message to ${name} failed: ${result.error ?? "error"}`);
        ctx.exitWith(EXIT.failed);
      }
    });

  channel
    .command("remove <name>")
    .description("Remove a channel; its secrets are erased.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .action(async (name: string, flags: { installation: string }) => {
      const db = await ctx.openDb();
      const removed = await removeChannel(
        db,
        await resolveInstallation(db, flags.installation),
        name,
        ACTOR,
        ctx.now(),
      );
      ctx.out(`channel ${removed.name} removed`);
    });
}
