import type { Command } from "commander";
import { checkInstallationForm, INSTALLATION_ARG, resolveInstallation } from "./installation-ref.ts";
import { EXIT, type CliContext } from "./context.ts";
import { createResolver } from "../sites/dns-check.ts";
import { addSite, listSites, recheckSites, verifySite, type SiteView } from "../sites/service.ts";
import type { Challenge } from "../sites/challenge.ts";
import { jsonOutput } from "./snake-json.ts";

const ACTOR = "cli";

function describeChallenge(challenge: Challenge, installation: number): string {
  const publish =
    challenge.method === "dns"
      ? [`Publish this DNS TXT record:`, `  ${challenge.record_name}  TXT  "${challenge.record_value}"`]
      : [
          `Serve this file over HTTPS (no redirect to another host):`,
          `  ${challenge.file_url}`,
          `  containing: ${challenge.token}`,
        ];
  return [
    `Site ${challenge.domain} added for installation ${installation} (method ${challenge.method}).`,
    ...publish,
    `Then run: agent-gate site verify ${challenge.domain} --installation ${installation}`,
  ].join("\n");
}

function table(sites: SiteView[]): string {
  if (sites.length === 0) return "no sites";
  const rows = [
    ["INSTALLATION", "DOMAIN", "METHOD", "STATE", "LAST CHECK", "OUTCOME"],
    ...sites.map((site) => [
      String(site.installation_id),
      site.domain,
      site.method,
      site.state,
      site.last_checked_at ?? "never",
      site.last_outcome ?? "-",
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `agent-gate site add|verify|list`: prove the installation owns a site before proposals may name it. */
export function registerSite(program: Command, ctx: CliContext): void {
  const site = program.command("site").description("Verify the sites deploy and outreach proposals may name.");

  site
    .command("add <domain>")
    .description("Register a site and print the DNS record or file that proves ownership.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option(
      "--method <method>",
      "dns (TXT record) or file (well-known HTTPS file); default dns, or the site's current method",
    )
    .option("--json", "print the challenge as JSON")
    .action(async (domain: string, flags: { installation: string; method?: string; json?: boolean }) => {
      checkInstallationForm(flags.installation);
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const challenge = await addSite(db, id, domain, flags.method, ACTOR, ctx.now());
      ctx.out(flags.json ? jsonOutput(challenge) : describeChallenge(challenge, id));
    });

  site
    .command("verify <domain>")
    .description("Check the site's record or file now; exit 0 when verified, 1 when not.")
    .requiredOption(`--installation ${INSTALLATION_ARG}`, "installation id or account login")
    .option("--json", "print the result as JSON")
    .action(async (domain: string, flags: { installation: string; json?: boolean }) => {
      checkInstallationForm(flags.installation);
      const db = await ctx.openDb();
      const id = await resolveInstallation(db, flags.installation);
      const deps = { resolver: createResolver(ctx.settings().dns) };
      const result = await verifySite(db, deps, id, domain, ACTOR, ctx.now());
      ctx.out(flags.json ? jsonOutput(result) : result.message);
      if (result.outcome !== "verified") ctx.exitWith(EXIT.failed);
    });

  site
    .command("list")
    .description("Show each site's state, method and last check.")
    .option(`--installation ${INSTALLATION_ARG}`, "only this installation's sites (id or account login)")
    .option("--json", "print the sites as JSON")
    .action(async (flags: { installation?: string; json?: boolean }) => {
      if (flags.installation !== undefined) checkInstallationForm(flags.installation);
      const db = await ctx.openDb();
      const id = flags.installation === undefined ? undefined : await resolveInstallation(db, flags.installation);
      const sites = await listSites(db, id);
      ctx.out(flags.json ? jsonOutput({ sites }) : table(sites));
    });

  site
    .command("recheck")
    .description(
      "Run the re-check sweep once: verified sites not checked for 24 h, all installations (e.g. from cron).",
    )
    .option("--json", "print the summary as JSON")
    .action(async (flags: { json?: boolean }) => {
      const db = await ctx.openDb();
      const summary = await recheckSites(db, { resolver: createResolver(ctx.settings().dns) }, ctx.now());
      ctx.out(
        flags.json
          ? jsonOutput(summary)
          : `checked ${summary.checked}: ${summary.verified} verified, ${summary.failed} failed, ${summary.lapsed} lapsed`,
      );
    });
}
