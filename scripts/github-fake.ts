// Runs the GitHub fake as a process so the app can be started against it:
//
//   npx tsx scripts/github-fake.ts --port 3999 [--seed seed.json] [--no-validate]
//   GHE_HOST=127.0.0.1:3999 GHE_PROTOCOL=http npm start
//
// The seed file is JSON in the shape of FakeSeed (test/support/github-fake/seed.ts).

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { GitHubFake } from "../test/support/github-fake.ts";
import { seedFake, type FakeSeed } from "../test/support/github-fake/seed.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3999" },
    seed: { type: "string" },
    "no-validate": { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got "${values.port}"`);
  process.exit(2);
}

const fake = await GitHubFake.start({ port, validate: !values["no-validate"] });
if (values.seed) seedFake(fake, JSON.parse(readFileSync(values.seed, "utf8")) as FakeSeed);
fake.log = (line) => console.log(line);

const host = new URL(fake.url).host;
console.log(`GitHub fake listening on ${fake.url} (API base ${fake.apiUrl})`);
console.log(`Start the app against it with: GHE_HOST=${host} GHE_PROTOCOL=http npm start`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    fake.close().then(() => process.exit(0), () => process.exit(1));
  });
}
