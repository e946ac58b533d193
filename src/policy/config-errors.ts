import type { z } from "zod";
import { configFileSchema } from "./config-schema.ts";

export interface ConfigError {
  /** Where in the file, e.g. "approvals.required" or "agents[1]"; "(root)" for the file itself. */
  path: string;
  /** What is wrong and what to write instead. */
  message: string;
}

/** Renders a zod path as a user reads it in YAML: approvals.required, agents[1]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text === "" ? "(root)" : text;
}

type AnySchema = z.core.$ZodType;

/** Strips default/prefault wrappers to reach the object schema below. */
function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema };
    if ((def.type === "default" || def.type === "prefault" || def.type === "optional") && def.innerType)
      current = def.innerType;
    else return current;
  }
}

/** The keys the schema allows at a path, or [] where it is not an object. */
export function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: AnySchema | undefined = configFileSchema;
  for (const segment of path) {
    const def = unwrap(schema)._zod.def as { type: string; shape?: Record<string, AnySchema>; element?: AnySchema };
    schema = typeof segment === "number" && def.type === "array" ? def.element : def.shape?.[String(segment)];
    if (!schema) return [];
  }
  const shape = (unwrap(schema)._zod.def as { shape?: Record<string, AnySchema> }).shape;
  return shape ? Object.keys(shape) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function unknownKeyMessage(key: string, allowed: string[]): string {
  const near = allowed.find((candidate) => editDistance(key.toLowerCase(), candidate) <= 2);
  const hint = near ? ` Did you mean "${near}"?` : "";
  return allowed.length
    ? `unknown key "${key}".${hint} Allowed keys here: ${allowed.join(", ")}.`
    : `unknown key "${key}".`;
}

function kindOf(value: unknown): string {
  if (value === null) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** Turns zod issues into one error per problem, each with a path and a fix. */
export function toConfigErrors(issues: readonly z.core.$ZodIssue[]): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(issue.path);
      for (const key of issue.keys) {
        errors.push({ path: formatPath([...issue.path, key]), message: unknownKeyMessage(key, allowed) });
      }
    } else if (issue.code === "invalid_type" && "input" in issue) {
      errors.push({ path: formatPath(issue.path), message: `${issue.message} (found ${kindOf(issue.input)})` });
    } else {
      errors.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return errors;
}
