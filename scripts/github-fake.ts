// Runs the GitHub fake as a process so the app can be started against it:
//
//   npx tsx scripts/github-fake.ts --port 3999 [--seed seed.json] [--no-validate]
//       [--app-url http://127.0.0.1:3000 --webhook-secret S [--approve-as LOGIN --app-id N]]
//   GHE_HOST=127.0.0.1:3999 GHE_PROTOCOL=http npm start
//
// The seed file is JSON in the shape of FakeSeed (test/support/github-fake/seed.ts).
// With --app-url and --webhook-secret it sends the App's webhooks there, signed
// with the secret, and installs the App (installation.created) on the seed's
// installations as soon as the app acknowledges. With --approve-as it also
// plays that maintainer: every proposal check run's Approve button is clicked
// and every outreach pull request gets an approving review, as webhooks.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { GitHubFake } from "../test/support/github-fake.ts";
import { approveEverything, installWhenUp, type StandInRepo } from "../test/support/github-fake/maintainer.ts";
import { seedFake, type FakeSeed } from "../test/support/github-fake/seed.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3999" },
    seed: { type: "string" },
    "no-validate": { type: "boolean", default: false },
    "app-url": { type: "string" },
    "webhook-secret": { type: "string" },
    "approve-as": { type: "string" },
    "app-id": { type: "string" },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got "${values.port}"`);
if ((values["app-url"] === undefined) !== (values["webhook-secret"] === undefined))
  fail("--app-url and --webhook-secret go together: where to send the App's webhooks and the secret to sign them with");
if (values["approve-as"] !== undefined && values["app-url"] === undefined)
  fail("--approve-as needs --app-url and --webhook-secret: the approvals reach the app as webhooks");
if (values["approve-as"] !== undefined && !/^[1-9]\d*$/.test(values["app-id"] ?? ""))
  fail("--approve-as needs --app-id: the App's id (APP_ID), which GitHub names on a check run's button click");

const seed: FakeSeed = values.seed ? (JSON.parse(readFileSync(values.seed, "utf8")) as FakeSeed) : {};
const fake = await GitHubFake.start({ port, validate: !values["no-validate"] });
seedFake(fake, seed);
fake.log = (line) => console.log(line);

const host = new URL(fake.url).host;
console.log(`GitHub fake listening on ${fake.url} (API base ${fake.apiUrl})`);
console.log(`Start the app against it with: GHE_HOST=${host} GHE_PROTOCOL=http npm start`);

let stopping = false;
let stopApproving = () => {};
if (values["app-url"] !== undefined) {
  fake.sendWebhooksTo(values["app-url"].replace(/\/+$/, ""), values["webhook-secret"]!);
  const repos: StandInRepo[] = Object.entries(seed.repos ?? {})
    .filter(([, repo]) => repo.installation_id !== undefined && repo.id !== undefined)
    .map(([full_name, repo]) => ({ full_name, id: repo.id!, installation: repo.installation_id! }));
  const installations = Object.entries(seed.installations ?? {}).map(([id, installation]) => ({
    id: Number(id),
    account: installation.account ?? "octocat",
    repos: repos
      .filter((repo) => repo.installation === Number(id))
      .map((repo) => ({ id: repo.id, full_name: repo.full_name })),
  }));
  void installWhenUp(fake, installations, () => stopping).then(() => {
    if (!stopping && installations.length)
      console.log(`installed the App on ${installations.map((i) => `${i.account} (installation ${i.id})`).join(", ")}`);
  });
  if (values["approve-as"] !== undefined)
    stopApproving = approveEverything(fake, values["approve-as"], Number(values["app-id"]), repos);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    stopping = true;
    stopApproving();
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
