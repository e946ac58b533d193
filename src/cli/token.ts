import type { Command } from "commander";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import { renderTable } from "./table.ts";
import type { CliContext } from "./context.ts";
import { ValidationError } from "../errors.ts";
import { createToken, listTokens, revokeToken, rotateToken } from "../tokens/store.ts";
import { tokenRecordView } from "../tokens/view.ts";
import { tokenNameProblem } from "../tokens/format.ts";
import { jsonOutput } from "./snake-json.ts";
import { parseDuration } from "../policy/duration.ts";

const KINDS = ["deploy", "commit", "outreach"];
const REPO = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/**
 * `30d`, `12h`, `90m`, `1d12h` → milliseconds: the same durations as the config's `expiry` (one parser,
 * policy/duration.ts), at least one minute.
 */
export function parseExpiry(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (error) {
    throw new ValidationError([
      { field: "--expires", message: `must be a duration such as 90m, 12h, 30d or 1d12h: ${(error as Error).message}` },
    ]);
  }
  if (ms < 60_000)
    throw new ValidationError([{ field: "--expires", message: `must be at least 1m; got ${JSON.stringify(text)}` }]);
  return ms;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerToken(program: Command, ctx: CliContext): void {
  const token = program
    .command("token")
    .description("Agent tokens: bearer tokens for the API, scoped to one installation.");

  token
    .command("create")
    .description("Create a token and print it once; only its SHA-256 and first 8 characters are stored.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation the token belongs to: its id or account login")
    .option(
      "--name <name>",
      "what check runs and the review page show as the proposer, e.g. release-bot (default: the token's prefix)",
    )
    .option(
      "--repo <owner/name>",
      "limit to a repository (repeatable; default: every repository of the installation)",
      collect,
    )
    .option("--kind <kind>", "limit to a proposal kind: deploy, commit, outreach (repeatable)", collect)
    .option(
      "--expires <duration>",
      "expire after a duration such as 90m, 12h, 30d or 1d12h, as the config's expiry is written (default: never)",
    )
    .option("--admin", "allow admin routes (audit export, sites)")
    .option("--json", "print the token and its scope as JSON")
    .action(
      async (options: {
        installation: string;
        name?: string;
        repo?: string[];
        kind?: string[];
        expires?: string;
        admin?: boolean;
        json?: boolean;
      }) => {
        const nameProblem = options.name === undefined ? null : tokenNameProblem(options.name);
        const issues = [
          ...(nameProblem ? [{ field: "--name", message: nameProblem }] : []),
          ...(options.repo ?? [])
            .filter((repo) => !REPO.test(repo))
            .map((repo) => ({ field: "--repo", message: `${repo} is not owner/name` })),
          ...(options.kind ?? [])
            .filter((kind) => !KINDS.includes(kind))
            .map((kind) => ({ field: "--kind", message: `${kind} is not one of ${KINDS.join(", ")}` })),
        ];
        if (issues.length > 0) throw new ValidationError(issues);
        checkInstallationForm(options.installation);
        const now = ctx.now();
        const expiresAt = options.expires ? new Date(now.getTime() + parseExpiry(options.expires)) : null;
        const db = await ctx.openDb();
        const { token: secret, row } = await createToken(
          db,
          {
            installationId: await resolveInstallation(db, options.installation),
            repos: options.repo?.length ? options.repo : null,
            kinds: options.kind?.length ? [...new Set(options.kind)] : null,
            admin: options.admin ?? false,
            expiresAt,
            createdBy: `cli:${ctx.env.USER ?? "unknown"}`,
            ...(options.name === undefined ? {} : { name: options.name }),
          },
          now,
        );
        if (options.json) {
          ctx.out(jsonOutput({ token: secret, ...tokenRecordView(row, now) }));
          return;
        }
        ctx.out(secret);
        ctx.err(
          `token ${row.prefix}… (${row.name}) created for installation ${row.installation_id}; it is shown only this once.`,
        );
      },
    );

  token
    .command("list")
    .description("List tokens by prefix, scope and state (never the token or its hash).")
    .option(`--installation ${INSTALLATION_ARG}`, "only this installation's tokens (id or account login)")
    .option("--json", "print as JSON")
    .action(async (options: { installation?: string; json?: boolean }) => {
      if (options.installation !== undefined) checkInstallationForm(options.installation);
      const db = await ctx.openDb();
      const now = ctx.now();
      const rows = (
        await listTokens(db, options.installation ? await resolveInstallation(db, options.installation) : undefined)
      ).map((row) => tokenRecordView(row, now));
      if (options.json) {
        ctx.out(jsonOutput({ tokens: rows }));
        return;
      }
      if (rows.length === 0) {
        ctx.out("no tokens");
        return;
      }
      ctx.out(
        renderTable(
          ["prefix", "name", "installation", "state", "repos", "kinds", "admin", "expires"],
          rows.map((row) => [
            String(row.prefix),
            String(row.name),
            String(row.installation_id),
            String(row.state),
            (row.repos as string[] | null)?.join(",") ?? "*",
            (row.kinds as string[] | null)?.join(",") ?? "*",
            row.admin ? "yes" : "no",
            row.expires_at ? String(row.expires_at) : "never",
          ]),
        ),
      );
    });

  token
    .command("revoke")
    .description("Revoke the live token with this 8-character prefix; it fails from the next request on.")
    .argument("<prefix>", "the token's first 8 characters, as `token list` shows")
    .action(async (prefix: string) => {
      const db = await ctx.openDb();
      const row = await revokeToken(db, prefix, `cli:${ctx.env.USER ?? "unknown"}`, ctx.now());
      ctx.out(`revoked ${row.prefix} (installation ${row.installation_id})`);
    });

  token
    .command("rotate")
    .description(
      "Issue a new token with the same scope, name and expiry and revoke the old one in the same transaction; the new one is printed once.",
    )
    .argument("<prefix>", "the token's first 8 characters, as `token list` shows")
    .option("--json", "print the new token and its scope as JSON")
    .action(async (prefix: string, options: { json?: boolean }) => {
      const db = await ctx.openDb();
      const now = ctx.now();
      const { token: secret, row, previous } = await rotateToken(db, prefix, `cli:${ctx.env.USER ?? "unknown"}`, now);
      if (options.json) {
        ctx.out(jsonOutput({ token: secret, ...tokenRecordView(row, now), rotated_from: previous.prefix }));
        return;
      }
      ctx.out(secret);
      ctx.err(
        `token ${row.prefix}… (${row.name}) replaces ${previous.prefix}, revoked now; the new token is shown only this once.`,
      );
    });
}
