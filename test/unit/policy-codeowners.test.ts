import { describe, expect, it } from "vitest";
import { ownersOf, parseCodeowners, patternGlobs } from "../../src/policy/codeowners.ts";

describe("CODEOWNERS parser", () => {
  it.each<[string, string, { pattern: string; owners: string[]; emails?: string[] }[], number]>([
    ["a user and a team", "*.js @alice @My-Org/Web\n", [{ pattern: "*.js", owners: ["alice", "my-org/web"] }], 0],
    ["comments and blank lines", "# owners\n\n/docs/ @bob # the docs\n", [{ pattern: "/docs/", owners: ["bob"] }], 0],
    ["no owners leaves a path unowned", "/vendor/\n", [{ pattern: "/vendor/", owners: [] }], 0],
    [
      "an email owner is kept apart",
      "*.md docs@example.com\n",
      [{ pattern: "*.md", owners: [], emails: ["docs@example.com"] }],
      0,
    ],
    [
      "an escaped space and hash",
      "my\\ file.txt @carol\n\\#notes @dave\n",
      [
        { pattern: "my file.txt", owners: ["carol"] },
        { pattern: "#notes", owners: ["dave"] },
      ],
      0,
    ],
    ["negation is skipped as GitHub skips it", "!secret.txt @eve\n", [], 1],
    ["a bad owner skips the line", "*.go not-an-owner\n", [], 1],
    [
      "windows line ends",
      "*.js @alice\r\n*.ts @bob\r\n",
      [
        { pattern: "*.js", owners: ["alice"] },
        { pattern: "*.ts", owners: ["bob"] },
      ],
      0,
    ],
  ])("%s", (_name, text, expected, problems) => {
    const parsed = parseCodeowners(text);
    expect(
      parsed.entries.map((e) => ({
        pattern: e.pattern,
        owners: e.owners.map((o) => (o.kind === "user" ? o.login : o.team)),
        ...(e.emails.length ? { emails: e.emails } : {}),
      })),
    ).toEqual(expected);
    expect(parsed.problems).toHaveLength(problems);
  });
});

describe("CODEOWNERS patterns (GitHub's examples)", () => {
  const file = parseCodeowners(
    [
      "*       @global-owner",
      "*.js    @js-owner",
      "*.go    docs@example.com",
      "/build/logs/ @doctocat",
      "docs/*  @docs-owner",
      "apps/   @apps-owner",
      "/docs/  @root-docs",
      "**/logs @logs-owner",
      "/scripts/ @scripts-owner",
      "/apps/github",
    ].join("\n"),
  );
  const owner = ownersOf(file);
  it.each<[string, string | null]>([
    ["README.md", "*"],
    ["src/index.js", "*.js"],
    ["main.go", "*.go"],
    ["build/logs/today.txt", "**/logs"], // the later **/logs wins over /build/logs/
    ["docs/getting-started.md", "/docs/"], // /docs/ comes after docs/*
    ["docs/build-app/troubleshooting.md", "/docs/"],
    ["nested/docs/a.md", "*"], // docs/* is anchored at the root
    ["a/apps/b/c.txt", "apps/"],
    ["deeply/nested/logs/x.log", "**/logs"],
    ["scripts/run.sh", "/scripts/"],
    ["apps/github/x.ts", "/apps/github"], // last match wins, and it has no owners
    [".github/workflows/ci.yml", "*"], // dotfiles match
  ])("%s is owned by the pattern %s", (path, pattern) => {
    expect(owner(path).entry?.pattern ?? null).toBe(pattern);
  });

  it("the last matching pattern with no owners leaves the file unowned", () => {
    expect(owner("apps/github/x.ts").entry?.owners).toEqual([]);
  });

  it.each<[string, string[]]>([
    ["*", ["**/*"]],
    ["*.js", ["**/*.js"]],
    ["/docs/", ["docs/**"]],
    ["apps/", ["**/apps/**"]],
    ["docs/*", ["docs/*"]],
    ["/build/logs", ["build/logs", "build/logs/**"]],
    ["**/logs", ["**/logs", "**/logs/**"]],
  ])("%s stands for %j", (pattern, globs) => {
    expect(patternGlobs(pattern)).toEqual(globs);
  });
});
