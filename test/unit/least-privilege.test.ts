import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import type { Probot } from "probot";
import { agentGate } from "../../src/index.ts";
import {
  ALWAYS_DELIVERED_EVENTS,
  EVENT_PERMISSIONS,
  HANDLED_EVENTS,
  OPERATIONS,
  OPTIONAL_OPERATIONS,
  permissionsFor,
  requiredPermissions,
} from "../../src/github/operations.ts";
import type { GateDeps } from "../../src/gates/gate-deps.ts";

const manifest = parse(readFileSync(new URL("../../app.yml", import.meta.url), "utf8")) as {
  default_permissions: Record<string, string>;
  default_events: string[];
};
const extract = JSON.parse(
  readFileSync(new URL("../fixtures/github-openapi-extract.json", import.meta.url), "utf8"),
) as {
  operations: { method: string; path: string }[];
};

/** The events the app's handlers subscribe to, without their actions. */
function subscribedEvents(): Set<string> {
  const events = new Set<string>();
  const recorder = {
    on(names: string | string[]) {
      for (const name of [names].flat()) events.add(name.split(".")[0]!);
    },
  };
  agentGate({} as GateDeps)(recorder as unknown as Probot);
  return events;
}

describe("least privilege", () => {
  it("app.yml asks for exactly the union of the operations' permissions, nothing more", () => {
    expect(manifest.default_permissions).toEqual(requiredPermissions());
  });

  it("app.yml subscribes to exactly the events the handlers listen to", () => {
    const handled = [...subscribedEvents()].filter(
      (event) => !(ALWAYS_DELIVERED_EVENTS as readonly string[]).includes(event),
    );
    expect(new Set(handled)).toEqual(new Set(HANDLED_EVENTS));
    expect(new Set(manifest.default_events)).toEqual(new Set(HANDLED_EVENTS));
    expect(manifest.default_events).toHaveLength(HANDLED_EVENTS.length);
  });

  it("never asks for administration, secrets, workflows or members", () => {
    for (const permission of [
      "administration",
      "secrets",
      "workflows",
      "members",
      "organization_administration",
      "actions",
    ]) {
      expect(manifest.default_permissions).not.toHaveProperty(permission);
    }
  });

  it("takes write access only where an operation writes", () => {
    const writers = Object.values(OPERATIONS).filter((operation) => operation.method !== "GET");
    const readers = Object.values(OPERATIONS).filter((operation) => operation.method === "GET");
    expect(
      readers.every((operation) => Object.values(operation.permissions).every((access) => access === "read")),
    ).toBe(true);
    expect(writers.every((operation) => Object.values(operation.permissions).includes("write"))).toBe(true);
  });

  it("keeps optional permissions (members: read for team rules) out of app.yml, and asks merge_queues: read only to receive merge_group", () => {
    expect(OPTIONAL_OPERATIONS["teams.getMembershipForUserInOrg"].permissions).toEqual({ members: "read" });
    for (const operation of Object.values(OPTIONAL_OPERATIONS)) {
      for (const permission of Object.keys(operation.permissions))
        expect(manifest.default_permissions).not.toHaveProperty(permission);
    }
    expect(EVENT_PERMISSIONS).toEqual({ merge_group: { merge_queues: "read" } });
    expect(manifest.default_permissions.merge_queues).toBe("read");
    expect(manifest.default_events).toContain("merge_group");
    // The optional permission is documented with what it unlocks and what fails without it.
    const doc = readFileSync(new URL("../../docs/permissions.md", import.meta.url), "utf8");
    expect(doc).toMatch(/\| Members \(organization\) \| read \| optional/);
    expect(doc).toMatch(/Merge queues \| read/);
  });

  it("declares only operations GitHub's API description has", () => {
    const known = new Set(extract.operations.map((operation) => `${operation.method} ${operation.path}`));
    for (const [name, operation] of Object.entries({ ...OPERATIONS, ...OPTIONAL_OPERATIONS })) {
      expect(known.has(`${operation.method} ${operation.route}`), name).toBe(true);
    }
  });

  it("unions permissions with write beating read", () => {
    expect(permissionsFor(["git.getRef"])).toEqual({ contents: "read" });
    expect(permissionsFor(["git.getRef", "git.createRef"])).toEqual({ contents: "write" });
    expect(permissionsFor(["git.createRef", "git.getRef"])).toEqual({ contents: "write" });
  });
});
