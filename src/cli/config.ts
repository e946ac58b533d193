import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { EXIT, type CliContext } from "./context.ts";
import { GateError } from "../errors.ts";
import { configReadOfText } from "../github/config-text.ts";
import { repoConfigOf } from "../policy/config.ts";
import { jsonOutput } from "./snake-json.ts";

const DEFAULT_FILE = ".github/agent-gate.yml";

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command("config").description("The repository configuration, .github/agent-gate.yml.");
  config
    .command("check")
    .description(
      "Validate a config file locally, as the app reads it (YAML line and column, every unknown key and bad value). Exit 0 valid, 1 invalid.",
    )
    .argument("[file]", "the file to check", DEFAULT_FILE)
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\n`_extends` and an organization's .github repository are resolved by the app on GitHub, not here: this checks the file itself.",
    )
    .action(async (file: string, options: { json?: boolean }) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new GateError(
          "file_unreadable",
          `Could not read ${file}${(error as { code?: string }).code === "ENOENT" ? ": no such file" : ""}.`,
          { status: 400, cause: error },
        );
      }
      const parsed = repoConfigOf(configReadOfText(text));
      if (options.json) {
        ctx.out(jsonOutput(parsed.ok ? { ok: true, file } : { ok: false, file, errors: parsed.errors }));
      } else if (parsed.ok) {
        ctx.out(`ok: ${file} is a valid Agent Gate config`);
      } else {
        for (const problem of parsed.errors) ctx.err(`${file}: ${problem.path}: ${problem.message}`);
      }
      if (!parsed.ok) ctx.exitWith(EXIT.failed);
    });
}
