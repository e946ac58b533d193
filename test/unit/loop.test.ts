import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loopFailures, startClaimLoop, startLoop, type Loop } from "../../src/loop.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A real pino logger whose lines are kept for the test to read. */
function logged() {
  const lines: { level: number; msg: string; loop?: string; err?: { message: string } }[] = [];
  const log = pino({}, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

async function failuresOf(name: string): Promise<number> {
  const { values } = await loopFailures.get();
  return values.find((v) => v.labels.loop === name)?.value ?? 0;
}

const started: Loop[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((loop) => loop.stop()));
});

describe("startLoop", () => {
  it("runs every interval, first at start when asked, and never two runs at once", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const { log } = logged();
    const loop = startLoop(
      "slow job",
      async () => {
        running += 1;
        most = Math.max(most, running);
        runs += 1;
        await sleep(35);
        running -= 1;
      },
      5,
      log,
      { atStart: true },
    );
    started.push(loop);
    expect(runs).toBe(1);
    for (let waited = 0; runs < 4 && waited < 2000; waited += 10) await sleep(10);
    expect(runs).toBeGreaterThanOrEqual(4);
    expect(most).toBe(1);
  });

  it("waits for its first interval unless asked to run at start", async () => {
    let runs = 0;
    const { log } = logged();
    started.push(startLoop("later job", async () => void (runs += 1), 40, log));
    expect(runs).toBe(0);
    await sleep(70);
    expect(runs).toBe(1);
  });

  it("stop() waits for the run in flight, signals it, and no run follows", async () => {
    const { log } = logged();
    let finished = false;
    let aborted = false;
    let runs = 0;
    const loop = startLoop(
      "long job",
      async (stopping) => {
        runs += 1;
        await sleep(60);
        aborted = stopping.aborted;
        finished = true;
      },
      10,
      log,
      { atStart: true },
    );
    await sleep(5);
    await loop.stop();
    expect(finished).toBe(true);
    expect(aborted).toBe(true);
    await sleep(40);
    expect(runs).toBe(1);
    loop.kick();
    expect(runs).toBe(1);
  });

  it("logs and counts every failed run, and keeps going", async () => {
    const { log, lines } = logged();
    const before = await failuresOf("flaky job");
    let runs = 0;
    started.push(
      startLoop(
        "flaky job",
        async () => {
          runs += 1;
          if (runs <= 2) throw new Error(`boom ${runs}`);
        },
        10,
        log,
        { atStart: true },
      ),
    );
    for (let waited = 0; runs < 4 && waited < 2000; waited += 10) await sleep(10);
    expect(runs).toBeGreaterThanOrEqual(4);
    const errors = lines.filter((line) => line.level === 50);
    expect(errors.map((line) => [line.loop, line.err?.message, line.msg])).toEqual([
      ["flaky job", "boom 1", "flaky job failed; it runs again"],
      ["flaky job", "boom 2", "flaky job failed; it runs again"],
    ]);
    expect((await failuresOf("flaky job")) - before).toBe(2);
  });

  it("counts a job that throws before its first await like any other failure", async () => {
    const { log, lines } = logged();
    const before = await failuresOf("sync throw");
    started.push(
      startLoop(
        "sync throw",
        () => {
          throw new Error("at once");
        },
        1000,
        log,
        { atStart: true },
      ),
    );
    await sleep(10);
    expect(lines.filter((line) => line.level === 50).map((line) => line.err?.message)).toEqual(["at once"]);
    expect((await failuresOf("sync throw")) - before).toBe(1);
  });

  it("runs once more after the run in flight when kicked during it, however often", async () => {
    const { log } = logged();
    let runs = 0;
    const loop = startLoop(
      "kicked job",
      async () => {
        runs += 1;
        await sleep(30);
      },
      60_000,
      log,
    );
    started.push(loop);
    loop.kick();
    loop.kick();
    loop.kick();
    expect(runs).toBe(1);
    await sleep(45);
    expect(runs).toBe(2);
    await sleep(45);
    expect(runs).toBe(2);
  });
});

describe("startClaimLoop", () => {
  it("claims until none is ready, wakes on the channel, and unsubscribes on stop", async () => {
    const { log } = logged();
    let ready = 3;
    let claims = 0;
    let wake: (() => void) | undefined;
    let listening = false;
    const loop = await startClaimLoop(
      "queue worker",
      async () => {
        claims += 1;
        if (ready === 0) return false;
        ready -= 1;
        return true;
      },
      60_000,
      log,
      async (onWake) => {
        wake = onWake;
        listening = true;
        return async () => void (listening = false);
      },
    );
    await sleep(20);
    expect(ready).toBe(0);
    expect(claims).toBe(4);
    ready = 2;
    wake!();
    await sleep(20);
    expect(ready).toBe(0);
    expect(claims).toBe(7);
    await loop.stop();
    expect(listening).toBe(false);
  });

  it("ends the pass between two jobs when stopped", async () => {
    const { log } = logged();
    let claims = 0;
    const loop = await startClaimLoop(
      "endless queue",
      async () => {
        claims += 1;
        await sleep(10);
        return true;
      },
      60_000,
      log,
      async () => async () => {},
    );
    await sleep(35);
    await loop.stop();
    const atStop = claims;
    await sleep(30);
    expect(claims).toBe(atStop);
    expect(atStop).toBeLessThanOrEqual(5);
  });
});
