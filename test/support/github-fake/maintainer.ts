import type { GitHubFake } from "../github-fake.ts";
import { example } from "../app.ts";
import { requestedAction } from "../fixtures.ts";

// What the GitHub stand-in does on a person's behalf when it runs as a process
// (scripts/github-fake.ts): GitHub installing the App once the app answers, and
// a maintainer approving what the app puts in front of them. Every decision
// reaches the app as GitHub sends it: a signed webhook delivery.

/** Sends `installation.created` for each repository's installation until the app acknowledges it. */
export async function installWhenUp(
  fake: GitHubFake,
  installations: { id: number; account: string; repos: { id: number; full_name: string }[] }[],
  stopped: () => boolean,
): Promise<void> {
  for (const installation of installations) {
    const payload = example("installation", "created", installation.id);
    payload.installation.account = { ...payload.installation.account, login: installation.account };
    payload.repositories = installation.repos.map((repo) => ({
      ...payload.repositories[0],
      id: repo.id,
      full_name: repo.full_name,
      name: repo.full_name.split("/")[1],
    }));
    while (!stopped()) {
      const delivery = await fake.sendWebhook("installation", payload);
      if (delivery.status_code >= 200 && delivery.status_code < 300) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * A maintainer who approves, once each, every open proposal check run (its
 * Approve button) and every outreach pull request (an approving review of its
 * head) the app creates at the stand-in.
 */
export interface StandInRepo {
  full_name: string;
  id: number;
  installation: number;
}

export function approveEverything(fake: GitHubFake, login: string, appId: number, repos: StandInRepo[]): () => void {
  const done = new Set<string>();
  let reviewId = 9_000;
  const tick = async () => {
    for (const run of fake.checkRuns()) {
      const repo = repos.find((r) => r.full_name === run.repo);
      const buttons =
        Array.isArray(run.actions) &&
        run.actions.some((action: { identifier?: string }) => action.identifier === "approve");
      const key = `check:${run.id}`;
      if (
        !repo ||
        !buttons ||
        (run.status === "completed" && run.conclusion !== "action_required") ||
        !run.external_id?.startsWith("prp_") ||
        done.has(key)
      )
        continue;
      done.add(key);
      const payload = requestedAction({
        installationId: repo.installation,
        appId,
        proposalId: run.external_id,
        checkRunId: run.id,
        identifier: "approve",
        clicker: login,
      });
      payload.repository = {
        ...payload.repository,
        id: repo.id,
        full_name: repo.full_name,
        name: repo.full_name.split("/")[1],
      };
      await fake.sendWebhook("check_run", payload);
    }
    for (const { full_name: repo, id, installation } of repos) {
      for (const pull of fake.pullRequests(repo)) {
        const head = String(pull.head?.sha ?? "");
        const key = `pull:${repo}#${pull.number}@${head}`;
        if (
          !String(pull.head?.ref ?? "").startsWith("agent-gate/outreach/") ||
          (pull.state ?? "open") !== "open" ||
          done.has(key)
        )
          continue;
        done.add(key);
        reviewId += 1;
        const submitted = new Date().toISOString();
        fake.setReviews(repo, Number(pull.number), [
          {
            id: reviewId,
            user: { login, id: reviewId, type: "User" },
            state: "APPROVED",
            commit_id: head,
            submitted_at: submitted,
            body: "",
          },
        ]);
        const payload = example("pull_request_review", "submitted", installation);
        payload.repository = {
          ...example("pull_request", "opened").repository,
          id,
          full_name: repo,
          name: repo.split("/")[1],
        };
        payload.pull_request.number = pull.number;
        payload.pull_request.head = { ...payload.pull_request.head, ref: pull.head.ref, sha: head };
        payload.pull_request.user = { ...payload.pull_request.user, login: "agent-gate[bot]", type: "Bot" };
        payload.review = {
          ...payload.review,
          id: reviewId,
          user: { ...payload.review.user, login, type: "User" },
          state: "approved",
          commit_id: head,
          submitted_at: submitted,
        };
        payload.sender = { ...payload.sender, login, type: "User" };
        await fake.sendWebhook("pull_request_review", payload);
      }
    }
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    tick().then(
      () => (running = false),
      (error: unknown) => {
        running = false;
        console.error(`github-fake: approving failed: ${String(error)}`);
      },
    );
  }, 200);
  return () => clearInterval(timer);
}
