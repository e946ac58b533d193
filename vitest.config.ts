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
};

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
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
