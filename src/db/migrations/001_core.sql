-- Core schema: the plain app role, the webhook ledger, the append-only audit
-- log with its per-installation hash chain, proposals and the GitHub outbox.

DO $$
BEGIN
  CREATE ROLE agent_gate_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT agent_gate_app TO %I', current_user);
EXCEPTION
  WHEN others THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO agent_gate_app;

-- The tenant of the current transaction, or NULL outside one.
CREATE FUNCTION agent_gate_tenant() RETURNS bigint
  LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('agent_gate.installation_id', true), '')::bigint $$;

-- Webhook ledger: one row per (app, delivery) that passed the signature check.
CREATE TABLE webhook_deliveries (
  app_id          bigint      NOT NULL,
  delivery_id     text        NOT NULL,
  event           text        NOT NULL,
  action          text,
  installation_id bigint,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, delivery_id)
);
GRANT SELECT, INSERT ON webhook_deliveries TO agent_gate_app;

-- Audit log. Append-only for every role, the owner included; pruning goes
-- through agent_gate_prune_audit alone (a later migration).
CREATE TABLE audit_events (
  installation_id bigint      NOT NULL,
  seq             bigint      NOT NULL,
  created_at      timestamptz NOT NULL,
  action          text        NOT NULL,
  actor           text,
  actor_is_bot    boolean     NOT NULL DEFAULT false,
  actor_is_agent  boolean     NOT NULL DEFAULT false,
  repo            text,
  subject         text,
  outcome         text        NOT NULL,
  data            jsonb       NOT NULL DEFAULT '{}'::jsonb,
  prev_hash       text        NOT NULL,
  hash            text        NOT NULL,
  PRIMARY KEY (installation_id, seq)
);
CREATE INDEX audit_events_created_at ON audit_events (installation_id, created_at);

CREATE TABLE audit_heads (
  installation_id bigint PRIMARY KEY,
  seq             bigint NOT NULL,
  hash            text   NOT NULL
);

CREATE FUNCTION agent_gate_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('agent_gate.pruning', true) = 'on' AND TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_change();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION agent_gate_refuse_change();

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
GRANT SELECT, INSERT ON audit_events TO agent_gate_app;

ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_heads_tenant ON audit_heads
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
GRANT SELECT, INSERT, UPDATE ON audit_heads TO agent_gate_app;

-- Proposals: one row per thing a human must decide.
CREATE TABLE proposals (
  id              text        PRIMARY KEY,
  installation_id bigint      NOT NULL,
  repo            text        NOT NULL,
  repo_id         bigint,
  kind            text        NOT NULL CHECK (kind IN ('commit', 'deploy', 'outreach')),
  status          text        NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'superseded', 'exempt')),
  digest          text        NOT NULL,
  head_sha        text,
  pr_number       integer,
  author          text,
  environment     text,
  site            text,
  summary         text        NOT NULL DEFAULT '',
  details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  state           jsonb       NOT NULL DEFAULT '{}'::jsonb,
  reason          text,
  approvers       jsonb       NOT NULL DEFAULT '[]'::jsonb,
  check_run_id    bigint,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  decided_at      timestamptz
);
CREATE INDEX proposals_pr ON proposals (installation_id, repo, pr_number);
CREATE INDEX proposals_pending ON proposals (expires_at) WHERE status = 'pending';

ALTER TABLE proposals ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposals FORCE ROW LEVEL SECURITY;
CREATE POLICY proposals_tenant ON proposals
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
GRANT SELECT, INSERT, UPDATE ON proposals TO agent_gate_app;

-- Outbox of GitHub writes, committed with the decision that causes them.
-- It names what to write, never private content: the worker reads the
-- current state of the subject when it runs.
CREATE TABLE outbox (
  id              bigserial   PRIMARY KEY,
  installation_id bigint      NOT NULL,
  operation       text        NOT NULL,
  coalesce_key    text,
  priority        integer     NOT NULL DEFAULT 1,
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  attempts        integer     NOT NULL DEFAULT 0,
  run_after       timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  done_at         timestamptz,
  outcome         text,
  last_error      text
);
CREATE INDEX outbox_ready ON outbox (priority, id) WHERE done_at IS NULL;
CREATE INDEX outbox_key ON outbox (installation_id, coalesce_key) WHERE done_at IS NULL;
GRANT SELECT, INSERT, UPDATE ON outbox TO agent_gate_app;
GRANT USAGE ON SEQUENCE outbox_id_seq TO agent_gate_app;

-- Pace of GitHub writes per installation, shared by every app process.
CREATE TABLE outbox_pace (
  installation_id bigint      PRIMARY KEY,
  next_at         timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON outbox_pace TO agent_gate_app;
