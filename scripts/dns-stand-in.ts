// A DNS server on loopback that answers the TXT records it is given, for
// verifying a site without publishing a record (the quick start in README.md):
//
//   npx tsx scripts/dns-stand-in.ts --port 5354 --txt "_agent-gate.example.com=<value>" [--txt …]
//   AGENT_GATE_DNS_SERVERS=127.0.0.1:5354 npx agent-gate site verify example.com --installation …

import { parseArgs } from "node:util";
import { TestDnsServer } from "../test/support/dns-server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5354" },
    txt: { type: "string", multiple: true, default: [] },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got "${values.port}"`);
  process.exit(2);
}
const records: [string, string][] = [];
for (const entry of values.txt) {
  const at = entry.indexOf("=");
  if (at <= 0 || at === entry.length - 1) {
    console.error(`--txt must be NAME=VALUE, e.g. "_agent-gate.example.com=agent-gate-verification=…", got "${entry}"`);
    process.exit(2);
  }
  records.push([entry.slice(0, at), entry.slice(at + 1)]);
}

const dns = await new TestDnsServer().start(port);
for (const [name, value] of records) dns.set(name, { txt: [[value]] });
console.log(
  `DNS stand-in listening on ${dns.address} (udp), answering TXT for ${records.map(([name]) => name).join(", ") || "nothing"}`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    dns.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
