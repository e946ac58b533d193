import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/policy/config.ts";
import { notifyChannelsFor } from "../../src/policy/notify-schema.ts";

function parse(notify: unknown) {
  return parseConfig({ notify }, true);
}

describe("notify: in .github/agent-gate.yml", () => {
  it("reads channels, routes, escalation and reminders", () => {
    const result = parse({
      channels: ["mail"],
      routes: [{ kinds: ["deploy"], environments: ["production"], channels: ["deploys"] }],
      escalate_after: "30m",
      escalate_to: ["oncall"],
      remind_every: "4h",
    });
    expect(result.ok && result.config.notify).toEqual({
      channels: ["mail"],
      routes: [{ kinds: ["deploy"], environments: ["production"], channels: ["deploys"] }],
      escalateAfterMs: 30 * 60_000,
      escalateTo: ["oncall"],
      remindEveryMs: 4 * 3_600_000,
    });
  });

  it("leaves a config without notify: as it was (its digest unchanged)", () => {
    const result = parseConfig({}, true);
    expect(result.ok && "notify" in result.config).toBe(false);
  });

  it.each([
    [{ escalate_after: "30m" }, "notify.escalate_to", "must name at least one channel when escalate_after is set"],
    [{ escalate_to: ["oncall"] }, "notify.escalate_after", "is required with escalate_to"],
    [{ escalate_after: "30s", escalate_to: ["x"] }, "notify.escalate_after", "between 1m and 30d"],
    [{ channels: ["#deploys"] }, "notify.channels", "agent-gate channel add"],
    [{ routes: [{ kinds: ["deploy"] }] }, "notify.routes[0]", ""],
    [{ routes: [{ kinds: ["push"], channels: ["a"] }] }, "notify.routes[0].kinds", '"commit", "deploy" or "outreach"'],
    [{ reviewers_typo: [] }, "notify", ""],
  ])("refuses %j naming %s", (notify, path, message) => {
    const result = parse(notify);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.path === path || e.path.startsWith(path));
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toContain(message);
  });

  it("routes a proposal to notify.channels and every matching route's channels, once each", () => {
    const result = parse({
      channels: ["mail"],
      routes: [
        { kinds: ["deploy"], environments: ["production"], channels: ["deploys", "MAIL"] },
        { kinds: ["commit"], channels: ["code"] },
      ],
    });
    const notify = result.ok ? result.config.notify : undefined;
    expect(notifyChannelsFor(notify, { kind: "deploy", environment: "production" })).toEqual(["MAIL", "deploys"]);
    expect(notifyChannelsFor(notify, { kind: "deploy", environment: "staging" })).toEqual(["mail"]);
    expect(notifyChannelsFor(notify, { kind: "commit", environment: null })).toEqual(["mail", "code"]);
    expect(notifyChannelsFor(undefined, { kind: "deploy", environment: "production" })).toEqual([]);
  });
});
