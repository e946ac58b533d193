// Looks for secrets where none may be: log output, error bodies, database rows.

const SHAPES: [string, RegExp][] = [
  ["an agent token", /agt_[A-Za-z0-9_-]{20,}/],
  ["an installation token", /gh[su]_[A-Za-z0-9_-]{10,}/],
  ["a private key", new RegExp(["-----BEGIN", "[A-Z ]*PRIVATE KEY-----"].join(" "))],
];

/** What secret-like text `text` holds: each known value found, and each token or key shape. */
export function secretsIn(text: string, known: readonly string[]): string[] {
  const found = known
    .filter((value) => value.length >= 8 && text.includes(value))
    .map((value) => `a known secret (${value.length} characters)`);
  for (const [what, shape] of SHAPES) if (shape.test(text)) found.push(what);
  return found;
}
