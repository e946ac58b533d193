import { describe, expect, it } from "vitest";
import { githubAvatars } from "../../src/review/avatars.ts";
import { personHtml } from "../../src/review/html.ts";
import { pageHeaders } from "../../src/review/respond.ts";
import { readSettings } from "../../src/config/settings.ts";

const githubUrls = (env: NodeJS.ProcessEnv) => readSettings(env).github;

describe("GitHub avatars on the review page", () => {
  it.each([
    [
      "github.com",
      {},
      "octocat",
      "https://avatars.githubusercontent.com/octocat?s=40",
      ["https://avatars.githubusercontent.com"],
    ],
    [
      "an Enterprise Server host",
      { GHE_HOST: "github.corp.example" },
      "mona-lisa",
      "https://github.corp.example/mona-lisa.png?size=40",
      ["https://github.corp.example", "https://avatars.github.corp.example"],
    ],
    [
      "an Enterprise Server at an IP address (no subdomain isolation)",
      { GHE_HOST: "10.0.0.5:8443", GHE_PROTOCOL: "http" },
      "rita",
      "http://10.0.0.5:8443/rita.png?size=40",
      ["http://10.0.0.5:8443"],
    ],
  ])("derives the picture of a login and the origins img-src allows from %s", (_name, env, login, url, sources) => {
    const avatars = githubAvatars(githubUrls(env));
    expect(avatars.url(login)).toBe(url);
    expect(avatars.sources).toEqual(sources);
    // The CSP allows the app and those origins for images, and nothing more.
    expect(pageHeaders(avatars)["content-security-policy"]).toContain(
      `img-src ${["'self'", ...sources].join(" ")}; form-action`,
    );
    expect(pageHeaders(avatars)["content-security-policy"]).toMatch(/^default-src 'none'; style-src 'self'; img-src /);
  });

  it.each([
    "token:agt_abcd",
    "dependabot[bot]",
    "-lead",
    "trail-",
    "two--hyphens",
    "a/../../x",
    'x" onerror="alert(1)',
    "",
    "a".repeat(40),
  ])("asks for no picture of %j, which is not a login", (actor) => {
    expect(githubAvatars(githubUrls({})).url(actor)).toBeNull();
    expect(personHtml(githubAvatars(githubUrls({})), actor)).not.toContain("<img");
  });

  it("shows a person escaped, the picture sending no referrer", () => {
    const avatars = githubAvatars(githubUrls({}));
    expect(personHtml(avatars, "octocat")).toBe(
      '<span class="person"><img class="avatar" src="https://avatars.githubusercontent.com/octocat?s=40" alt="" width="20" height="20" referrerpolicy="no-referrer">octocat</span>',
    );
    expect(personHtml(avatars, "<b>x</b>")).toBe('<span class="person">&#60;b&#62;x&#60;/b&#62;</span>');
  });
});
