-- Notifications: the channels an installation's admins configure, the queue
-- of messages to them (its own queue, never behind GitHub writes), the
-- messages sent (to update them), the escalation and reminder schedule, and
-- the Slack users linked to GitHub logins.

-- A channel's secrets (Slack bot token and signing secret, SMTP URL, Teams
-- Workflows URL, webhook signing secret) are sealed under the keyring, bound
-- to purpose "notify_channel", the channel id and the installation. Only
-- what is not secret stays in the clear (a Slack channel id, an email's
-- sender). A removed channel keeps its row for the audit trail; its sealed
-- secret is erased.
CREATE TABLE notify_channels (
  id              text        PRIMARY KEY CHECK (id ~ '^chn_[A-Za-z0-9]{20}$'),
  installation_id bigint      NOT NULL,
  name            text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  type            text        NOT NULL CHECK (type IN ('slack', 'teams', 'email', 'webhook')),
  settings        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  sealed_secret   text        NOT NULL,
  created_by      text,
  created_at      timestamptz NOT NULL,
  removed_at      timestamptz
);
CREATE UNIQUE INDEX notify_channels_name ON notify_channels (installation_id, lower(name)) WHERE removed_at IS NULL;

-- Messages to send. A job without a channel is a proposal's event, fanned out
-- to its channels by the notifier; a job with one is a message to that
-- channel. dedupe_key makes queuing the same message twice a no-op.
CREATE TABLE notify_jobs (
  id              bigserial   PRIMARY KEY,
  installation_id bigint      NOT NULL,
  proposal_id     text        NOT NULL,
  event           text        NOT NULL CHECK (event IN ('pending', 'decided', 'expired', 'superseded', 'escalated', 'reminder', 'expiring', 'test')),
  channel_id      text,
  dedupe_key      text        NOT NULL,
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  attempts        integer     NOT NULL DEFAULT 0,
  run_after       timestamptz,
  locked_until    timestamptz,
  locked_by       text,
  created_at      timestamptz NOT NULL,
  done_at         timestamptz,
  outcome         text,
  last_error      text
);
CREATE UNIQUE INDEX notify_jobs_dedupe ON notify_jobs (installation_id, dedupe_key);
CREATE INDEX notify_jobs_open ON notify_jobs (id) WHERE done_at IS NULL;

-- The pace of each channel across every process: the next time it may send.
CREATE TABLE notify_pace (
  channel_id      text        PRIMARY KEY,
  installation_id bigint      NOT NULL,
  next_at         timestamptz NOT NULL
);

-- The message each channel got for a proposal (a Slack message's channel
-- and ts), so it is updated, not sent again.
CREATE TABLE notify_messages (
  installation_id bigint      NOT NULL,
  proposal_id     text        NOT NULL,
  channel_id      text        NOT NULL,
  ref             jsonb       NOT NULL DEFAULT '{}'::jsonb,
  digest          text        NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (proposal_id, channel_id)
);

-- Escalations, reminders and the warning before expiry, due at a time.
CREATE TABLE notify_schedule (
  installation_id bigint      NOT NULL,
  proposal_id     text        NOT NULL,
  step            text        NOT NULL,
  due_at          timestamptz NOT NULL,
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  done_at         timestamptz,
  PRIMARY KEY (proposal_id, step)
);
CREATE INDEX notify_schedule_due ON notify_schedule (due_at) WHERE done_at IS NULL;

-- A Slack user (team and user id) linked to a GitHub login through GitHub
-- sign-in on the review page; and the one-time links that do it (only the
-- token's SHA-256 is stored).
CREATE TABLE slack_links (
  installation_id bigint      NOT NULL,
  team_id         text        NOT NULL,
  user_id         text        NOT NULL,
  github_login    text        NOT NULL,
  github_user_id  bigint      NOT NULL,
  linked_at       timestamptz NOT NULL,
  PRIMARY KEY (installation_id, team_id, user_id)
);
CREATE TABLE slack_link_tokens (
  token_hash      text        PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  installation_id bigint      NOT NULL,
  team_id         text        NOT NULL,
  user_id         text        NOT NULL,
  expires_at      timestamptz NOT NULL,
  used_at         timestamptz
);

-- Slack interaction requests already taken (SHA-256 of timestamp and
-- signature), kept past Slack's 5-minute window: a replay is refused.
-- Read before any tenant is known; no installation data.
CREATE TABLE slack_replays (
  request_hash    text        PRIMARY KEY CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  seen_at         timestamptz NOT NULL
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['notify_channels', 'notify_jobs', 'notify_pace', 'notify_messages', 'notify_schedule', 'slack_links', 'slack_link_tokens'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()))', t || '_tenant', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (current_user <> ''agent_gate_app'')', t || '_owner', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO agent_gate_app', t);
  END LOOP;
END
$$;
GRANT USAGE ON SEQUENCE notify_jobs_id_seq TO agent_gate_app;
