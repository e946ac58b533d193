import { defineConfig } from "vitest/config";

// The integration suite runs once per storage backend: embedded PGlite always,
// PostgreSQL when TEST_DATABASE_URL is set. In CI a missing PostgreSQL is a
// failure, never a skip.
const postgresUrl = process.env.TEST_DATABASE_URL;
if (process.env.CI && !postgresUrl) {
  throw new Error("CI requires TEST_DATABASE_URL: the suite must run on PostgreSQL as well as PGlite.");
}

const shared = {
  setupFiles: ["test/support/setup.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Each worker keeps its modules between files: importing the app anew for every file cost a third of the
  // suite's CPU. No test replaces a module (there is no vi.mock), every file starts its own database, stand-ins
  // and app, and what a file changes in its process (env, the network guard) is put back or installed once.
  isolate: false,
};

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    // Much of a file's time is spent waiting (on a child process, a socket, a poll), so four workers keep a
    // 2-core machine busy where vitest's default (cores - 1) would run one file at a time.
    maxWorkers: 4,
    projects: [
      { test: { ...shared, name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          ...shared,
          name: "pglite",
          include: ["test/integration/**/*.test.ts"],
          env: { TEST_BACKEND: "pglite" },
        },
      },
      ...(postgresUrl
        ? [
            {
              test: {
                ...shared,
                name: "postgres",
                include: ["test/integration/**/*.test.ts"],
                // The browser drives the same page and data layer review-page.test.ts checks on both backends: once is enough.
                exclude: ["test/integration/**/*-browser.test.ts"],
                env: { TEST_BACKEND: "postgres" },
              },
            },
          ]
        : []),
    ],
  },
});
