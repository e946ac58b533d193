import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// The approval predicate's published JSON Schema (docs/attestation-predicate.schema.json), compiled once.

const schema = JSON.parse(
  readFileSync(new URL("../../docs/attestation-predicate.schema.json", import.meta.url), "utf8"),
) as object;
const ajv = new Ajv2020.default({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** The schema's complaints about a predicate; empty when it conforms. */
export function predicateSchemaErrors(predicate: unknown): string[] {
  return validate(predicate)
    ? []
    : (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""}`);
}
