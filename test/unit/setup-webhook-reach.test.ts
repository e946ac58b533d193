import { describe, expect, it } from "vitest";
import { unreachableReason } from "../../src/setup/webhook-reach.ts";

describe("whether GitHub can deliver to a webhook URL", () => {
  it.each([
    ["http://localhost:3000/api/github/webhooks", "localhost is this machine"],
    ["http://app.localhost/hook", "app.localhost is this machine"],
    ["http://127.0.0.1:3000/hook", "127.0.0.1 is this machine (loopback)"],
    ["http://[::1]:3000/hook", "::1 is this machine (loopback)"],
    ["http://[::ffff:127.0.0.1]/hook", "127.0.0.1 is this machine (loopback)"],
    ["http://10.1.2.3/hook", "10.1.2.3 is a private address"],
    ["http://172.20.0.5/hook", "172.20.0.5 is a private address"],
    ["http://192.168.1.10/hook", "192.168.1.10 is a private address"],
    ["http://169.254.1.1/hook", "169.254.1.1 is a link-local address"],
    ["http://[fd00::1]/hook", "fd00::1 is a private (unique local) address"],
    ["http://gate.internal/hook", "gate.internal is a name only your network knows"],
    ["http://myserver:3000/hook", "myserver is a name only your network knows"],
  ])("%s: %s", (url, reason) => {
    expect(unreachableReason(url)).toBe(reason);
  });

  it.each([
    "https://gate.example.com/api/github/webhooks",
    "https://smee.io/abc",
    "http://172.32.0.1/hook",
    "http://8.8.8.8/hook",
  ])("%s may be reached", (url) => {
    expect(unreachableReason(url)).toBeNull();
  });
});
