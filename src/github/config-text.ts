import { parse } from "yaml";

/** What is wrong with a config file before its settings are read: `path` is "(file)". */
export interface FileProblem {
  path: string;
  message: string;
}

/**
 * `.github/agent-gate.yml` as read: its YAML as a value and whether the file
 * exists (an absent file is null), or why its YAML could not be read. Its
 * settings are checked by policy/'s config schema, not here.
 */
export type ConfigRead = { ok: true; raw: unknown; present: boolean } | { ok: false; errors: FileProblem[] };

/**
 * A YAML error as the user fixes it: line and column, and the parser's first
 * line of explanation (never the file's text, which the parser quotes below it).
 */
export function yamlProblem(error: unknown): FileProblem {
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
 * parses it (the `yaml` package).
 */
export function configReadOfText(text: string): ConfigRead {
  let raw: unknown;
  try {
    raw = parse(text, { logLevel: "error" }) as unknown;
  } catch (error) {
    return { ok: false, errors: [yamlProblem(error)] };
  }
  if (typeof raw === "string")
    return { ok: false, errors: [{ path: "(file)", message: "the YAML is not a mapping of settings" }] };
  return { ok: true, raw: raw ?? null, present: true };
}
