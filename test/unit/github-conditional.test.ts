import { describe, expect, it } from "vitest";
import { cacheable } from "../../src/github/conditional-reads.ts";
import { memoryEtagStore } from "../../src/github/etag-store.ts";

describe("which reads the ETag cache keeps", () => {
  it.each([
    ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", {}, true],
    ["GET", "/repos/{owner}/{repo}/contents/{path}", { path: ".github/agent-gate.yml" }, true],
    ["GET", "/repos/{owner}/{repo}/contents/{path}", { path: ".github/CODEOWNERS" }, true],
    // An outreach proposal's text is sealed at rest in the app's tables: never kept in clear.
    ["GET", "/repos/{owner}/{repo}/contents/{path}", { path: ".agent-gate/outreach/abc.md" }, false],
    ["GET", "/app/installations", {}, false],
    ["GET", "http://127.0.0.1:1/api/v3/app/hook/deliveries?per_page=100", {}, false],
    ["GET", "http://127.0.0.1:1/api/v3/repos/o/r/pulls/2/reviews?page=2", {}, true],
    ["POST", "/repos/{owner}/{repo}/check-runs", {}, false],
  ])("%s %s %j → %s", (method, url, params, expected) => {
    expect(cacheable({ method, url, ...params })).toBe(expected);
  });
});

describe("the in-memory ETag store", () => {
  it("keeps at most its bound per installation, least recently used out first, and never shares across installations", async () => {
    const store = memoryEtagStore(2);
    const entry = (etag: string) => ({ etag, headers: {}, data: etag });
    await store.put(1, "a", entry("A"));
    await store.put(1, "b", entry("B"));
    await store.get(1, "a");
    await store.put(1, "c", entry("C"));
    expect(await store.get(1, "b")).toBeUndefined();
    expect((await store.get(1, "a"))?.etag).toBe("A");
    expect(await store.get(2, "a")).toBeUndefined();
  });
});
