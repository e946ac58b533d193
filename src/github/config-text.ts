import { parse } from "yaml";
import { parseConfig, type ConfigError, type ParsedConfig } from "../policy/config.ts";

/**
 * A YAML error as the user fixes it: line and column, and the parser's first
 * line of explanation (never the file's text, which the parser quotes below it).
 */
export function yamlProblem(error: unknown): ConfigError {
  // Duck-typed: Probot's config plugin may load its own copy of the `yaml` package.
  if (error instanceof Error && error.name === "YAMLParseError") {
    const at = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const reason = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return {
      path: "(file)",
      message: at
        ? `the YAML could not be parsed at line ${at.line}, column ${at.col}: ${reason}`
        : `the YAML could not be parsed: ${reason}`,
    };
  }
  return { path: "(file)", message: "the YAML could not be parsed" };
}

/**
 * `.github/agent-gate.yml` from its text, parsed as Probot's config plugin
 * parses it (the `yaml` package), then checked by the one config schema.
 */
export function parseConfigText(text: string): ParsedConfig {
  let raw: unknown;
  try {
    raw = parse(text, { logLevel: "error" }) as unknown;
  } catch (error) {
    return { ok: false, errors: [yamlProblem(error)] };
  }
  if (typeof raw === "string")
    return { ok: false, errors: [{ path: "(file)", message: "the YAML is not a mapping of settings" }] };
  return parseConfig(raw ?? null, true);
}
