// Regenerates test/fixtures/github-openapi-extract.json: the operations of
// GitHub's REST API description that the GitHub fake serves, with $refs
// inlined, so tests can check requests without the 385 MB @octokit/openapi.
//
//   mkdir /tmp/oa && cd /tmp/oa && npm init -y && npm install @octokit/openapi
//   npx tsx scripts/extract-openapi.ts /tmp/oa/node_modules/@octokit/openapi/generated/api.github.com.json

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const OPERATIONS: ReadonlyArray<readonly [method: string, path: string]> = [
  // The setup page's manifest flow: exchange the code for the new App's credentials.
  ["POST", "/app-manifests/{code}/conversions"],
  ["POST", "/app/installations/{installation_id}/access_tokens"],
  ["GET", "/app/installations/{installation_id}"],
  ["GET", "/app"],
  ["GET", "/repos/{owner}/{repo}/installation"],
  ["GET", "/installation/repositories"],
  ["GET", "/repos/{owner}/{repo}"],
  ["GET", "/repos/{owner}/{repo}/contents/{path}"],
  ["PUT", "/repos/{owner}/{repo}/contents/{path}"],
  ["GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"],
  ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}"],
  ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"],
  ["GET", "/repos/{owner}/{repo}/pulls"],
  ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"],
  ["POST", "/repos/{owner}/{repo}/pulls"],
  ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files"],
  // Requesting the reviews a waiting agent's pull request needs.
  ["POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"],
  ["GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"],
  // A merge queue's group: its commits and the pull requests they belong to.
  ["GET", "/repos/{owner}/{repo}/compare/{basehead}"],
  ["GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"],
  ["POST", "/repos/{owner}/{repo}/check-runs"],
  ["PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"],
  ["GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"],
  ["GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"],
  ["POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule"],
  ["GET", "/repos/{owner}/{repo}/git/ref/{ref}"],
  ["POST", "/repos/{owner}/{repo}/git/refs"],
  // The review page, with the signed-in user's own token.
  ["GET", "/user"],
  // The App's own webhook delivery log and redeliveries (App JWT), for recovering failed deliveries.
  ["GET", "/app/hook/deliveries"],
  ["POST", "/app/hook/deliveries/{delivery_id}/attempts"],
  // The Action's `attest: true`: the job stores its Sigstore bundle of the approval with GitHub.
  ["POST", "/repos/{owner}/{repo}/attestations"],
];

export interface ExtractedOperation {
  method: string;
  path: string;
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody: { required: boolean; contentType: string; schema: unknown } | null;
}

export interface OpenApiExtract {
  source: string;
  operations: ExtractedOperation[];
}

type Json = any;

// Keywords that only document; dropping them keeps the extract small.
const DOCUMENTATION = new Set(["description", "example", "examples", "summary", "externalDocs", "x-github"]);

function resolve(spec: Json, node: Json, seen: string[] = []): Json {
  if (Array.isArray(node)) return node.map((item) => resolve(spec, item, seen));
  if (!node || typeof node !== "object") return node;
  if (typeof node.$ref === "string") {
    if (seen.includes(node.$ref)) throw new Error(`recursive $ref ${node.$ref} cannot be inlined`);
    const target = node.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((at: Json, part: string) => at?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
    if (target === undefined) throw new Error(`unresolvable $ref ${node.$ref}`);
    return resolve(spec, target, [...seen, node.$ref]);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (DOCUMENTATION.has(key)) continue;
    if (key === "properties" && value && typeof value === "object") {
      // Keys here are property names, not keywords: keep every one.
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, schema]) => [name, resolve(spec, schema, seen)]),
      );
    } else {
      out[key] = resolve(spec, value, seen);
    }
  }
  return out;
}

export function extract(spec: Json, source: string): OpenApiExtract {
  const operations = OPERATIONS.map(([method, path]): ExtractedOperation => {
    const item = spec.paths?.[path];
    const operation = item?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is not in ${source}`);
    const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p: Json) => {
      const param = resolve(spec, p);
      return { name: param.name, in: param.in, required: param.required === true, schema: param.schema ?? {} };
    });
    let requestBody: ExtractedOperation["requestBody"] = null;
    if (operation.requestBody) {
      const body = resolve(spec, operation.requestBody);
      const contentType = Object.keys(body.content ?? {})[0] ?? "application/json";
      requestBody = {
        required: body.required === true,
        contentType,
        schema: body.content?.[contentType]?.schema ?? {},
      };
    }
    return { method, path, operationId: operation.operationId, parameters, requestBody };
  });
  return { source, operations };
}

function main(): void {
  const input = process.argv[2];
  if (!input) {
    console.error("usage: npx tsx scripts/extract-openapi.ts <path to @octokit/openapi/generated/api.github.com.json>");
    process.exit(2);
  }
  const spec = JSON.parse(readFileSync(input, "utf8"));
  let version = "unknown";
  try {
    version = JSON.parse(readFileSync(join(dirname(input), "..", "package.json"), "utf8")).version;
  } catch {
    // Not inside an installed package: the description's own version still identifies it.
  }
  const source = `@octokit/openapi ${version} generated/api.github.com.json (info.version ${spec.info?.version ?? "?"})`;
  const output = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "github-openapi-extract.json");
  writeFileSync(output, `${JSON.stringify(extract(spec, source), null, 1)}\n`);
  console.log(`wrote ${output}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
