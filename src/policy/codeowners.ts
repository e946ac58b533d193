import picomatch from "picomatch";

/** One owner of a path: a user (`@alice`) or a team (`@org/team`). Email owners cannot be matched to an account and are kept apart. */
export type Owner = { kind: "user"; login: string } | { kind: "team"; team: string };

export interface CodeownersEntry {
  /** The pattern as written. */
  pattern: string;
  owners: Owner[];
  /** Owners given as email addresses (GitHub matches them to verified emails; Agent Gate cannot). */
  emails: string[];
  line: number;
}

export interface CodeownersFile {
  entries: CodeownersEntry[];
  /** Lines GitHub would skip, each with why. */
  problems: { line: number; message: string }[];
}

const USER = /^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/;
const TEAM = /^@([A-Za-z0-9][A-Za-z0-9-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Splits a line into words; `\ ` keeps a space in a pattern, `\#` a hash. A `#` after a space starts a comment. */
function words(line: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
    } else if (c === "#" && current === "") {
      break;
    } else if (c === " " || c === "\t") {
      if (current) out.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  if (current) out.push(current);
  return out;
}

/**
 * Parses a CODEOWNERS file with GitHub's syntax: one pattern and its owners a
 * line, `#` comments, owners as `@user`, `@org/team` or an email. A line
 * with a pattern and no owners leaves its paths unowned. Negated patterns
 * (`!`) and character ranges (`[ ]`) are not supported by GitHub, so such
 * lines are reported and skipped, as GitHub skips them.
 */
export function parseCodeowners(text: string): CodeownersFile {
  const entries: CodeownersEntry[] = [];
  const problems: CodeownersFile["problems"] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const [pattern, ...rest] = words(raw);
    if (!pattern) return;
    if (pattern.startsWith("!") || /[[\]]/.test(pattern)) {
      problems.push({ line, message: `"${pattern}": negation and character ranges are not supported in CODEOWNERS` });
      return;
    }
    const owners: Owner[] = [];
    const emails: string[] = [];
    for (const word of rest) {
      const team = TEAM.exec(word);
      const user = USER.exec(word);
      if (team) owners.push({ kind: "team", team: `${team[1]!.toLowerCase()}/${team[2]!.toLowerCase()}` });
      else if (user) owners.push({ kind: "user", login: user[1]! });
      else if (EMAIL.test(word)) emails.push(word);
      else {
        problems.push({ line, message: `"${word}" is not an owner (@user, @org/team or an email)` });
        return;
      }
    }
    entries.push({ pattern, owners, emails, line });
  });
  return { entries, problems };
}

/**
 * The globs a CODEOWNERS pattern stands for, in picomatch syntax. GitHub's
 * rules (gitignore's, mostly): a leading `/` or a `/` inside anchors the
 * pattern at the root, otherwise it matches at any depth; a trailing `/`
 * matches a directory's contents only; a name without a wildcard also
 * matches everything under a directory of that name; `docs/*` matches the
 * files directly in docs/, not deeper.
 */
export function patternGlobs(pattern: string): string[] {
  let body = pattern;
  const directoryOnly = body.endsWith("/");
  if (directoryOnly) body = body.replace(/\/+$/, "");
  const anchored = body.startsWith("/") || body.includes("/");
  body = body.replace(/^\/+/, "");
  if (body === "") return ["**"];
  const base = anchored || body.startsWith("**") ? body : `**/${body}`;
  if (directoryOnly) return [`${base}/**`];
  const last = body.split("/").pop() ?? "";
  return last.includes("*") ? [base] : [base, `${base}/**`];
}

export type OwnersLookup = (path: string) => { entry: CodeownersEntry | null };

/** A lookup of each path's owners: the last matching pattern wins (GitHub's precedence). */
export function ownersOf(file: CodeownersFile): OwnersLookup {
  const matchers = file.entries.map((entry) => ({
    entry,
    test: picomatch(patternGlobs(entry.pattern), { dot: true }),
  }));
  return (path) => {
    const clean = path.replace(/^\/+/, "");
    for (let i = matchers.length - 1; i >= 0; i--) {
      if (matchers[i]!.test(clean)) return { entry: matchers[i]!.entry };
    }
    return { entry: null };
  };
}
