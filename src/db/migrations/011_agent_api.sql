-- Agent API: installations and their repositories (from webhooks), agent
-- tokens (stored only as SHA-256) and single-use redemptions of approvals.

-- Installations of the app; rows are never deleted, so the trail stays whole.
-- Read by authentication before any tenant is known: owner only, no app grant.
CREATE TABLE installations (
  id           bigint      PRIMARY KEY,
  account      text        NOT NULL,
  created_at   timestamptz NOT NULL,
  suspended_at timestamptz,
  deleted_at   timestamptz
);

CREATE TABLE installation_repositories (
  installation_id bigint      NOT NULL REFERENCES installations (id),
  repo_id         bigint      NOT NULL,
  full_name       text        NOT NULL,
  added_at        timestamptz NOT NULL,
  removed_at      timestamptz,
  PRIMARY KEY (installation_id, repo_id)
);
CREATE INDEX installation_repositories_name ON installation_repositories (lower(full_name)) WHERE removed_at IS NULL;

-- Agent tokens: the token itself is never stored, only its SHA-256 (hex) and
-- the first 8 characters for display.
CREATE TABLE agent_tokens (
  id              bigserial   PRIMARY KEY,
  installation_id bigint      NOT NULL,
  sha256          text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  prefix          text        NOT NULL,
  repos           text[],
  kinds           text[],
  admin           boolean     NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz,
  revoked_at      timestamptz,
  created_by      text        NOT NULL
);
CREATE INDEX agent_tokens_prefix ON agent_tokens (prefix);

-- One redemption per approved proposal: the primary key makes it single-use.
CREATE TABLE redemptions (
  proposal_id     text        PRIMARY KEY REFERENCES proposals (id),
  installation_id bigint      NOT NULL,
  redeemed_at     timestamptz NOT NULL,
  actor           text        NOT NULL
);
ALTER TABLE redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE redemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY redemptions_tenant ON redemptions
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
GRANT SELECT, INSERT ON redemptions TO agent_gate_app;
