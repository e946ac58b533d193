/** `headSha` → `head_sha`; keys already in snake_case stay as they are. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** A value with every object key in snake_case, at every depth: what each `--json` output prints. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeCase(key), snakeKeys(inner)]));
  }
  return value;
}

/** What every `--json` output prints: the value with snake_case keys at every depth, as JSON. */
export function jsonOutput(value: unknown, indent?: number): string {
  return JSON.stringify(snakeKeys(value), null, indent);
}
