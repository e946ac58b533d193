import { describe, expect, it } from "vitest";
import { subjectOf } from "../../src/webhooks/subject.ts";

describe("subjectOf: a check run's re-run is ordered with its pull request", () => {
  const base = { installation: { id: 7 }, repository: { id: 11 } };
  it.each<[string, Record<string, unknown>, string]>([
    [
      "a re-run on a pull request",
      { ...base, action: "rerequested", check_run: { id: 5, external_id: "prp_x", pull_requests: [{ number: 3 }] } },
      "pull:7:11:3",
    ],
    [
      "a button vote",
      {
        ...base,
        action: "requested_action",
        check_run: { id: 5, external_id: "prp_x", pull_requests: [{ number: 3 }] },
      },
      "proposal:7:prp_x",
    ],
    [
      "a re-run without a pull request",
      { ...base, action: "rerequested", check_run: { id: 5, external_id: "prp_x", pull_requests: [] } },
      "proposal:7:prp_x",
    ],
  ])("%s", (_name, payload, subject) => {
    expect(subjectOf("check_run", "d1", payload)).toBe(subject);
  });
});
