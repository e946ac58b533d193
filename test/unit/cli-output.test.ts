import { describe, expect, it } from "vitest";
import { renderTable } from "../../src/cli/table.ts";
import { snakeCase, snakeKeys } from "../../src/cli/snake-json.ts";

describe("CLI output", () => {
  it("prints a table with a header row and aligned columns", () => {
    expect(
      renderTable(
        ["prefix", "state"],
        [
          ["agt_HGZJ", "active"],
          ["agt_x", "revoked"],
        ],
      ).split("\n"),
    ).toEqual(["PREFIX    STATE", "agt_HGZJ  active", "agt_x     revoked"]);
    expect(renderTable(["kid"], [])).toBe("KID");
  });

  it("turns every key of a --json output into snake_case, at every depth", () => {
    expect(snakeCase("headSha")).toBe("head_sha");
    expect(snakeCase("created_at")).toBe("created_at");
    expect(
      snakeKeys({ headSha: "a", mayApprove: { minPermission: "write", list: [{ decidedAt: null }] }, created_at: 1 }),
    ).toEqual({
      head_sha: "a",
      may_approve: { min_permission: "write", list: [{ decided_at: null }] },
      created_at: 1,
    });
  });
});
