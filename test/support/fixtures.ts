import { createRequire } from "node:module";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { example } from "./app.ts";

const require = createRequire(import.meta.url);

let validator: ((name: string, payload: unknown) => string[]) | undefined;

/** Validate a webhook payload against its schema in @octokit/openapi-webhooks; returns the problems. */
export function webhookSchemaProblems(schemaName: string, payload: unknown): string[] {
  if (!validator) {
    const document = require("@octokit/openapi-webhooks/generated/api.github.com.json") as { components: unknown };
    const ajv = new Ajv.default({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: "webhooks", components: document.components } as object);
    validator = (name, value) => {
      const validate = ajv.getSchema(`webhooks#/components/schemas/${name}`);
      if (!validate) throw new Error(`no schema ${name}`);
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    };
  }
  return validator(schemaName, payload);
}

export interface RuleOptions {
  installationId: number;
  environment: string;
  sha: string;
  runId: number;
  sender: string;
  senderType?: string;
  creator?: string;
}

/**
 * A deployment_protection_rule.requested payload (webhooks-examples has none),
 * assembled from parts of GitHub's real example payloads.
 */
export function deploymentProtectionRule(o: RuleOptions): Record<string, any> {
  const base = example("pull_request", "opened", o.installationId);
  const user = (login: string, type = "User") => ({ ...base.sender, login, type });
  const repo = base.repository;
  return {
    action: "requested",
    environment: o.environment,
    event: "push",
    deployment_callback_url: `https://api.github.com/repos/${repo.full_name}/actions/runs/${o.runId}/deployment_protection_rule`,
    deployment: {
      url: `https://api.github.com/repos/${repo.full_name}/deployments/1`,
      id: 1,
      node_id: "MDEwOkRlcGxveW1lbnQx",
      sha: o.sha,
      ref: "main",
      task: "deploy",
      payload: {},
      original_environment: o.environment,
      environment: o.environment,
      description: null,
      creator: user(o.creator ?? o.sender, o.senderType),
      created_at: "2026-11-23T10:00:00Z",
      updated_at: "2026-11-23T10:00:00Z",
      statuses_url: `https://api.github.com/repos/${repo.full_name}/deployments/1/statuses`,
      repository_url: `https://api.github.com/repos/${repo.full_name}`,
      transient_environment: false,
      production_environment: true,
    },
    pull_requests: [],
    repository: repo,
    installation: { id: o.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" },
    sender: user(o.sender, o.senderType),
  };
}

/** A check_run.requested_action payload (GitHub's example) clicking a button on our check run. */
export function requestedAction(o: {
  installationId: number;
  appId: number;
  proposalId: string;
  checkRunId: number;
  identifier: string;
  clicker: string;
  clickerType?: string;
}): Record<string, any> {
  const payload = example("check_run", "requested_action", o.installationId);
  const repo = example("pull_request", "opened", o.installationId).repository;
  payload.repository = repo;
  payload.check_run.id = o.checkRunId;
  payload.check_run.external_id = o.proposalId;
  payload.check_run.app = { ...payload.check_run.app, id: o.appId };
  payload.requested_action = { identifier: o.identifier };
  payload.sender = { ...payload.sender, login: o.clicker, type: o.clickerType ?? "User" };
  return payload;
}
