-- Reviews requested on GitHub for a waiting head: one row per pull request
-- head, so a head's reviewers are requested once, however often it is
-- evaluated. A new push is a new head, and may be requested again.
CREATE TABLE reviewer_requests (
  installation_id bigint      NOT NULL,
  repo            text        NOT NULL,
  pr_number       integer     NOT NULL,
  head_sha        text        NOT NULL CHECK (head_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
  proposal_id     text        NOT NULL,
  reviewers       jsonb       NOT NULL,
  team_reviewers  jsonb       NOT NULL,
  requested_at    timestamptz NOT NULL,
  PRIMARY KEY (installation_id, repo, pr_number, head_sha)
);
GRANT SELECT, INSERT ON reviewer_requests TO agent_gate_app;

ALTER TABLE reviewer_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE reviewer_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY reviewer_requests_tenant ON reviewer_requests
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY reviewer_requests_owner ON reviewer_requests USING (current_user <> 'agent_gate_app');
