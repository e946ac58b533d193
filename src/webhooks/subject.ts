/**
 * The subject a delivery is about: deliveries of one subject are processed in
 * the order they arrived, different subjects in parallel.
 * - a pull request (its events and reviews): `pull:<installation>:<repo id>:<number>`
 * - a check run of the app (button votes): `proposal:<external id>` when it names one; a re-run of one on a pull request: the pull request
 * - a deployment protection rule: `deploy:<installation>:<repo id>:<run url>`
 * - the installation's own lifecycle: `installation:<id>`
 * - anything else: the delivery itself (nothing to order it against)
 */
export function subjectOf(event: string, deliveryId: string, payload: Record<string, unknown>): string {
  const installation = numberAt(payload, "installation", "id");
  const repoId = numberAt(payload, "repository", "id");
  switch (event) {
    case "pull_request":
    case "pull_request_review":
    case "pull_request_review_comment":
    case "pull_request_review_thread": {
      const number = numberAt(payload, "pull_request", "number") ?? numberAt(payload, "number");
      if (number !== null) return `pull:${installation ?? 0}:${repoId ?? 0}:${number}`;
      break;
    }
    case "check_run": {
      // A re-run evaluates its pull request again: ordered with the pull request's own events.
      const pull = at(payload, "check_run", "pull_requests", "0", "number");
      if (payload.action === "rerequested" && typeof pull === "number" && Number.isSafeInteger(pull))
        return `pull:${installation ?? 0}:${repoId ?? 0}:${pull}`;
      const external = stringAt(payload, "check_run", "external_id");
      if (external) return `proposal:${installation ?? 0}:${external}`;
      const id = numberAt(payload, "check_run", "id");
      if (id !== null) return `check_run:${installation ?? 0}:${id}`;
      break;
    }
    case "deployment_protection_rule": {
      const callback = typeof payload.deployment_callback_url === "string" ? payload.deployment_callback_url : null;
      if (callback) return `deploy:${installation ?? 0}:${repoId ?? 0}:${callback}`;
      break;
    }
    case "installation":
    case "installation_repositories":
      if (installation !== null) return `installation:${installation}`;
      break;
  }
  return `delivery:${deliveryId}`;
}

function at(payload: Record<string, unknown>, ...path: string[]): unknown {
  let value: unknown = payload;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function numberAt(payload: Record<string, unknown>, ...path: string[]): number | null {
  const value = at(payload, ...path);
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

function stringAt(payload: Record<string, unknown>, ...path: string[]): string | null {
  const value = at(payload, ...path);
  return typeof value === "string" && value.length > 0 && value.length <= 200 ? value : null;
}
