import { expect, it } from "vitest";

it("refuses connections beyond loopback", async () => {
  await expect(fetch("http://93.184.215.14/")).rejects.toThrow();
  await expect(fetch("https://api.github.com/")).rejects.toThrow();
});
