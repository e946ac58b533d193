import { Help, type Command } from "commander";
import type { CliContext } from "./context.ts";
import { registerMigrate } from "./migrate.ts";
import { registerKeys } from "./keys.ts";
import { registerReceipt } from "./receipt.ts";
import { registerAttestation } from "./attestation.ts";
import { registerToken } from "./token.ts";
import { registerAudit } from "./audit.ts";
import { registerWitness } from "./witness.ts";
import { registerSite } from "./site.ts";
import { registerChannel } from "./channel.ts";
import { registerExplain } from "./explain.ts";
import { registerDoctor } from "./doctor.ts";
import { registerServe } from "./serve.ts";
import { registerMcp } from "./mcp.ts";
import { registerInstallation } from "./installation.ts";
import { registerConfig } from "./config.ts";

/** Every command group, registered in one place. */
export function registerCommands(program: Command, ctx: CliContext): void {
  // Set before the subcommands are made, which inherit it: required options say so in --help.
  program.configureHelp({
    optionDescription(option) {
      const base = new Help().optionDescription(option);
      return option.mandatory ? `${base} (required)` : base;
    },
  });
  registerMigrate(program, ctx);
  registerKeys(program, ctx);
  registerReceipt(program, ctx);
  registerAttestation(program, ctx);
  registerInstallation(program, ctx);
  registerConfig(program, ctx);
  registerToken(program, ctx);
  registerAudit(program, ctx);
  registerWitness(program, ctx);
  registerSite(program, ctx);
  registerChannel(program, ctx);
  registerExplain(program, ctx);
  registerDoctor(program, ctx);
  registerServe(program, ctx);
  registerMcp(program, ctx);
}
