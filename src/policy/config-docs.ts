import { z } from "zod";
import { configFileSchema } from "./config-schema.ts";

export interface ConfigKeyDoc {
  /** Dotted key as written in the YAML file, e.g. "approvals.min_permission". */
  key: string;
  /** Human-readable type, e.g. "integer 1..20" or "one of: write, maintain, admin". */
  type: string;
  /** The default, as it would be written in YAML. */
  default: string;
  description: string;
}

interface JsonSchemaNode {
  type?: string;
  format?: string;
  enum?: unknown[];
  items?: JsonSchemaNode;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
}

function typeText(node: JsonSchemaNode): string {
  if (node.enum) return `one of: ${node.enum.map(String).join(", ")}`;
  if (node.type === "array") return `list of ${node.items ? typeText(node.items) : "values"}`;
  if (node.type === "object" && typeof node.additionalProperties === "object") {
    return `map of name → ${typeText(node.additionalProperties)}`;
  }
  if (node.type === "integer" && node.minimum !== undefined && node.maximum !== undefined) {
    return `integer ${node.minimum}..${node.maximum}`;
  }
  if (node.type === "string" && node.format === "duration") return "duration (e.g. 72h, 3d, 1d12h)";
  if (node.type === "string" && node.format === "hostname") return "domain";
  return node.type ?? "value";
}

function defaultText(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function walk(node: JsonSchemaNode, prefix: string, rows: ConfigKeyDoc[]): void {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix === "" ? name : `${prefix}.${name}`;
    if (child.properties) {
      walk(child, key, rows);
      continue;
    }
    if (child.type === "array" && child.items?.properties) {
      // A list of mappings (rules): the list, then each item's keys as key[].name.
      rows.push({
        key,
        type: "list of mappings",
        default: defaultText(child.default),
        description: child.description ?? "",
      });
      walk(child.items, `${key}[]`, rows);
      continue;
    }
    rows.push({
      key,
      type: typeText(child),
      default: defaultText(child.default),
      description: child.description ?? "",
    });
  }
}

/**
 * One row per configuration key, generated from the schema itself (its
 * `.describe()` texts, defaults and bounds), so documentation cannot drift
 * from what is validated.
 */
export function configSchemaDescription(): ConfigKeyDoc[] {
  const rows: ConfigKeyDoc[] = [];
  walk(z.toJSONSchema(configFileSchema, { io: "input" }) as JsonSchemaNode, "", rows);
  return rows;
}
