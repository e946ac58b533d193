import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { GitHubCall } from "../github-fake.ts";
import { compileRoute, safeDecode, type Route } from "./route-match.ts";
import type { ExtractedOperation, OpenApiExtract } from "../../../scripts/extract-openapi.ts";

// Checks each request against GitHub's OpenAPI description (the committed
// extract in test/fixtures): the operation exists, required query parameters
// are present, and the JSON body validates against the request schema.

const EXTRACT = new URL("../../fixtures/github-openapi-extract.json", import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface Compiled {
  operation: ExtractedOperation;
  route: Route;
  body: ValidateFunction | null;
  query: Map<string, ValidateFunction>;
  pathParams: { name: string; validate: ValidateFunction }[];
}

function githubAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes });
  addFormats(ajv);
  // GitHub's own format: a repository "name with owner", e.g. octo-org/widgets.
  ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
  return ajv;
}

const loaded = new Map<string, Conformance>();

export class Conformance {
  private constructor(private readonly operations: Compiled[]) {}

  /** Compiles the extract once per process; the result holds no per-test state. */
  static load(path: URL | string = EXTRACT): Conformance {
    const cacheKey = String(path);
    let conformance = loaded.get(cacheKey);
    if (!conformance) loaded.set(cacheKey, (conformance = Conformance.compile(path)));
    return conformance;
  }

  private static compile(path: URL | string): Conformance {
    const extract = JSON.parse(readFileSync(path, "utf8")) as OpenApiExtract;
    // OpenAPI 3.0 schemas: `nullable` is understood, unknown keywords tolerated.
    const ajv = githubAjv(false);
    const coercing = githubAjv(true);
    return new Conformance(
      extract.operations.map((operation) => ({
        operation,
        route: compileRoute(operation.method, operation.path),
        body: operation.requestBody ? ajv.compile(operation.requestBody.schema as object) : null,
        query: new Map(
          operation.parameters
            .filter((p) => p.in === "query")
            .map((p) => [p.name, coercing.compile({ type: "object", properties: { value: p.schema as object } })]),
        ),
        // In template order, to pair with the pattern's capture groups.
        pathParams: [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
          const schema = operation.parameters.find((p) => p.in === "path" && p.name === name)?.schema ?? {};
          return {
            name: name!,
            validate: coercing.compile({ type: "object", properties: { value: schema as object } }),
          };
        }),
      })),
    );
  }

  operationFor(method: string, path: string): ExtractedOperation | null {
    return this.find(method, path)?.operation ?? null;
  }

  check(call: GitHubCall): string[] {
    const found = this.find(call.method, call.path);
    if (!found) return [`no operation ${call.method} ${call.path} in GitHub's REST API description`];
    const problems: string[] = [];
    const { operation } = found;
    const values = found.route.pattern.exec(call.path)!.slice(1);
    found.pathParams.forEach(({ name, validate }, i) => {
      const value = safeDecode(values[i] ?? "");
      if (!validate({ value })) problems.push(`path parameter ${name}=${value}: ${describe(validate)}`);
    });
    for (const param of operation.parameters) {
      if (param.in !== "query") continue;
      const value = call.query.get(param.name);
      if (value === null) {
        if (param.required) problems.push(`query parameter ${param.name} is required`);
        continue;
      }
      const validate = found.query.get(param.name)!;
      if (!validate({ value })) problems.push(`query parameter ${param.name}=${value}: ${describe(validate)}`);
    }
    for (const name of call.query.keys()) {
      if (!operation.parameters.some((p) => p.in === "query" && p.name === name)) {
        problems.push(`query parameter ${name} is not defined for ${operation.operationId}`);
      }
    }
    const hasBody = call.body !== undefined && !isEmptyObject(call.body);
    if (!found.body) {
      if (hasBody) problems.push(`${operation.operationId} takes no request body`);
      return problems;
    }
    if (call.body === undefined) {
      if (operation.requestBody?.required) problems.push(`${operation.operationId} requires a request body`);
      return problems;
    }
    if (!found.body(call.body)) problems.push(`request body: ${describe(found.body)}`);
    return problems;
  }

  private find(method: string, path: string): Compiled | undefined {
    let best: Compiled | undefined;
    for (const compiled of this.operations) {
      if (compiled.operation.method !== method.toUpperCase() || !compiled.route.pattern.test(path)) continue;
      if (!best || compiled.route.literal > best.route.literal) best = compiled;
    }
    return best;
  }
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

function describe(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map(
      (e) =>
        `${e.instancePath || "(root)"} ${e.message}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""}`,
    )
    .join(", ");
}
