/**
 * GitHub's web and API base URLs: github.com, or a GitHub Enterprise Server
 * (`GHE_HOST`, `GHE_PROTOCOL`, default https) that serves the web flow
 * (`/login/oauth/...`) at its host and the REST API under `/api/v3`.
 */
export function githubUrls(env: NodeJS.ProcessEnv): { web: string; api: string; enterprise: boolean } {
  if (!env.GHE_HOST) return { web: "https://github.com", api: "https://api.github.com", enterprise: false };
  const web = `${env.GHE_PROTOCOL || "https"}://${env.GHE_HOST}`;
  return { web, api: `${web}/api/v3`, enterprise: true };
}
