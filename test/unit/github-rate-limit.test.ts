import { describe, expect, it } from "vitest";
import { RateLimits, SECONDARY_WAIT_MS, errorWaitMs, refusalWaitMs } from "../../src/github/rate-limit.ts";

const T0 = 1_800_000_000_000; // ms
const reset = (secondsFromNow: number) => String(T0 / 1000 + secondsFromNow);

function limits(threshold = 100) {
  const slept: number[] = [];
  let now = T0;
  const rl = new RateLimits({
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    threshold,
  });
  return { rl, slept, advance: (ms: number) => (now += ms) };
}

describe("GitHub rate limits", () => {
  it("lets calls go while plenty remain", async () => {
    const { rl, slept } = limits();
    rl.observe(1, { status: 200, headers: { "x-ratelimit-remaining": "4000", "x-ratelimit-reset": reset(3600) } });
    await rl.before(1);
    expect(slept).toEqual([]);
    expect(rl.remaining(1)).toBe(4000);
  });

  it("spreads the calls left over the rest of the window below the threshold", async () => {
    const { rl, slept } = limits(100);
    rl.observe(1, { status: 200, headers: { "x-ratelimit-remaining": "9", "x-ratelimit-reset": reset(100) } });
    expect(rl.delayFor(1)).toBe(10_000);
    await rl.before(1);
    expect(slept).toEqual([10_000]);
    // Another installation has its own window.
    expect(rl.delayFor(2)).toBe(0);
  });

  it("waits for the reset when nothing remains, then goes on", async () => {
    const { rl, slept } = limits();
    rl.observe(1, { status: 200, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset(30) } });
    await rl.before(1);
    expect(slept).toEqual([30_000]);
    expect(rl.delayFor(1)).toBe(0);
  });

  it.each([
    ["429 with retry-after", { status: 429, headers: { "retry-after": "7" } }, 7_000],
    ["403 with retry-after", { status: 403, headers: { "retry-after": "12" } }, 12_000],
    [
      "403 with an exhausted window",
      { status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset(45) } },
      45_000,
    ],
    [
      "403 naming a secondary rate limit",
      { status: 403, headers: {}, message: "You have exceeded a secondary rate limit." },
      SECONDARY_WAIT_MS,
    ],
    ["429 without headers", { status: 429, headers: {} }, SECONDARY_WAIT_MS],
  ])("pauses an installation after %s", async (_name, answer, wait) => {
    const { rl, slept } = limits();
    expect(refusalWaitMs(answer, T0)).toBe(wait);
    rl.observe(3, answer);
    await rl.before(3);
    expect(slept).toEqual([wait]);
  });

  it.each([
    [
      "a plain 403 (permission)",
      { status: 403, headers: { "x-ratelimit-remaining": "4000" }, message: "Resource not accessible by integration" },
    ],
    ["a 404", { status: 404, headers: {} }],
    ["a 500", { status: 500, headers: { "retry-after": "5" } }],
  ])("does not treat %s as a rate limit", (_name, answer) => {
    expect(refusalWaitMs(answer, T0)).toBeUndefined();
  });

  it("reads an Octokit error's status, headers and message", () => {
    const error = Object.assign(new Error("API rate limit exceeded"), {
      status: 403,
      response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset(60) } },
    });
    expect(errorWaitMs(error, T0)).toBe(60_000);
    expect(errorWaitMs(new Error("socket hang up"), T0)).toBeUndefined();
  });
});
