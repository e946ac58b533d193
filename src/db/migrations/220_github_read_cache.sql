-- Conditional reads of GitHub (ETag, If-None-Match): a 304 does not count
-- against the installation's rate limit. One row per request and token
-- (GitHub's ETags are specific to the token that asked), holding the last
-- body GitHub answered 200 with, reused only when GitHub answers 304 to the
-- same request. Kept per installation under row level security; bounded by
-- the app (the least recently used rows of an installation are pruned).
CREATE TABLE github_etags (
  installation_id bigint      NOT NULL,
  key             text        NOT NULL CHECK (key ~ '^[0-9a-f]{64}$'),
  etag            text        NOT NULL CHECK (length(etag) BETWEEN 1 AND 200),
  headers         jsonb       NOT NULL,
  body            text        NOT NULL,
  used_at         timestamptz NOT NULL,
  PRIMARY KEY (installation_id, key)
);
CREATE INDEX github_etags_used ON github_etags (installation_id, used_at);

ALTER TABLE github_etags ENABLE ROW LEVEL SECURITY;
ALTER TABLE github_etags FORCE ROW LEVEL SECURITY;
CREATE POLICY github_etags_tenant ON github_etags
  USING (installation_id = (SELECT agent_gate_tenant()))
  WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
GRANT SELECT, INSERT, UPDATE, DELETE ON github_etags TO agent_gate_app;

-- GitHub's rate-limit window per installation as it last answered
-- (x-ratelimit-limit, -remaining, -used, -reset), for `agent-gate doctor` and
-- every replica. Owner-only like the inbox: counts, no tenant data.
CREATE TABLE github_rate_limits (
  installation_id bigint      PRIMARY KEY,
  rate_limit      integer,
  remaining       integer     NOT NULL,
  used            integer,
  reset_at        timestamptz,
  observed_at     timestamptz NOT NULL
);
REVOKE ALL ON github_rate_limits FROM agent_gate_app;
