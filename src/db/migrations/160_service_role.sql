-- Two database logins (docs/operations.md): the schema and the audit tables
-- belong to the role that runs migrations (AGENT_GATE_MIGRATION_DATABASE_URL);
-- the running app logs in (DATABASE_URL) as a role holding agent_gate_service
-- and nothing else. agent_gate_service is what the app's work across
-- installations needs (the webhook inbox and its processor, the outbox
-- worker, the sweeps, token and session look-ups, installations, signing
-- keys), granted table by table; it is a member of agent_gate_app, the role of
-- every tenant transaction. It owns nothing, so it cannot ALTER, DISABLE
-- TRIGGER, TRUNCATE or re-grant anything, and it holds no UPDATE or DELETE on
-- the audit tables.
--
-- An admin may create both roles beforehand (a migrating login without
-- CREATEROLE cannot); the blocks below then change nothing.

DO $$
BEGIN
  CREATE ROLE agent_gate_service NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
  IF NOT pg_has_role('agent_gate_service', 'agent_gate_app', 'MEMBER') THEN
    GRANT agent_gate_app TO agent_gate_service;
  END IF;
EXCEPTION
  -- Granted concurrently by another database's migration, or left to the admin (docs/operations.md);
  -- `agent-gate doctor` checks the membership.
  WHEN others THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO agent_gate_service;
GRANT SELECT ON schema_migrations TO agent_gate_service;
GRANT SELECT ON audit_retention_policy TO agent_gate_service;

-- The webhook inbox, its ledger, recovery from GitHub's delivery log, leases of the sweeps.
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_inbox TO agent_gate_service;
GRANT USAGE ON SEQUENCE webhook_inbox_id_seq TO agent_gate_service;
GRANT SELECT, INSERT ON webhook_deliveries TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE ON webhook_recovery TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON sweep_leases TO agent_gate_service;

-- The outbox worker and its pace; the expiry sweep's deadlines; the review page's directory.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO agent_gate_service;
GRANT USAGE ON SEQUENCE outbox_id_seq TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE ON outbox_pace TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON proposal_deadlines TO agent_gate_service;
GRANT SELECT, INSERT ON proposal_directory TO agent_gate_service;

-- Installations (never deleted), agent tokens (revoked, never deleted), review sessions, sites' sweep.
GRANT SELECT, INSERT, UPDATE ON installations TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE ON installation_repositories TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE ON agent_tokens TO agent_gate_service;
GRANT USAGE ON SEQUENCE agent_tokens_id_seq TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON review_sessions TO agent_gate_service;
GRANT SELECT ON sites TO agent_gate_service;

-- Receipt-signing keys (created and retired, never deleted) and the replicas' key ids.
GRANT SELECT, INSERT, UPDATE ON signing_keys TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON replica_keys TO agent_gate_service;

-- Entering a tenant: the service role may, the app role (inside a tenant transaction) may not.
GRANT EXECUTE ON FUNCTION agent_gate_enter_tenant(bigint) TO agent_gate_service;

-- No session setting opens the append-only trigger any more. A DELETE of
-- audit events passes only for rows the pruning function itself named, in a
-- row of audit_prune_grants keyed by backend and transaction, which only the
-- owner writes (the function runs as the owner, and nothing is granted on
-- the table). `SET agent_gate.pruning = 'on'` now changes nothing.
CREATE UNLOGGED TABLE audit_prune_grants (
  backend_pid     integer PRIMARY KEY,
  xact            xid8    NOT NULL,
  installation_id bigint  NOT NULL,
  through_seq     bigint  NOT NULL
);
REVOKE ALL ON audit_prune_grants FROM PUBLIC;

CREATE OR REPLACE FUNCTION agent_gate_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND EXISTS (
       SELECT 1 FROM public.audit_prune_grants g
        WHERE g.backend_pid = pg_backend_pid()
          AND g.xact = pg_current_xact_id_if_assigned()
          AND g.installation_id = OLD.installation_id
          AND OLD.seq <= g.through_seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- 071's function, deleting under a grant row instead of the setting.
CREATE OR REPLACE FUNCTION agent_gate_prune_audit(installation bigint, before timestamptz)
  RETURNS TABLE (pruned_count bigint, last_pruned_seq bigint, last_pruned_hash text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
DECLARE
  head_seq bigint;
  head_event record;
  keep_days integer;
  floor_at timestamptz;
  plan record;
BEGIN
  IF installation IS NULL OR before IS NULL THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: installation and before are required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT isfinite(before) THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: the cutoff must be a finite time, not %', before
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- A tenant transaction may prune its own installation only.
  IF agent_gate_tenant() IS DISTINCT FROM installation THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: installation % is not the tenant of this transaction', installation
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Queue behind appends and other prunes of this installation.
  SELECT h.seq INTO head_seq FROM audit_heads h WHERE h.installation_id = installation FOR UPDATE;
  IF head_seq IS NULL THEN
    RETURN QUERY SELECT 0::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  SELECT e.seq, e.created_at, e.action, e.data INTO head_event
    FROM audit_events e WHERE e.installation_id = installation AND e.seq = head_seq;
  SELECT p.min_days INTO keep_days FROM audit_retention_policy p;
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: no retention period is set' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  floor_at := least(now(), head_event.created_at) - make_interval(days => keep_days);
  IF head_event.seq IS NULL OR before > floor_at THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: cutoff % is newer than the retention floor % (% days before the chain''s last event)',
      before, floor_at, keep_days
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO plan FROM agent_gate_prune_plan(installation, before);
  IF plan.pruned_count = 0 THEN
    RETURN QUERY SELECT 0::bigint, NULL::bigint, NULL::text;
    RETURN;
  END IF;
  -- The floor keeps the last event; it must be this prune's checkpoint.
  IF plan.last_pruned_seq >= head_seq
     OR head_event.action IS DISTINCT FROM 'audit.pruned'
     OR (head_event.data ->> 'last_pruned_seq') IS DISTINCT FROM plan.last_pruned_seq::text
     OR (head_event.data ->> 'last_pruned_hash') IS DISTINCT FROM plan.last_pruned_hash
     OR (head_event.data ->> 'pruned_count') IS DISTINCT FROM plan.pruned_count::text THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: the chain''s last event must be the audit.pruned checkpoint of this prune (through seq %, hash %)',
      plan.last_pruned_seq, plan.last_pruned_hash
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO audit_prune_grants AS g (backend_pid, xact, installation_id, through_seq)
    VALUES (pg_backend_pid(), pg_current_xact_id(), installation, plan.last_pruned_seq)
    ON CONFLICT (backend_pid) DO UPDATE
      SET xact = EXCLUDED.xact, installation_id = EXCLUDED.installation_id, through_seq = EXCLUDED.through_seq;
  DELETE FROM audit_events e WHERE e.installation_id = installation AND e.seq <= plan.last_pruned_seq;
  DELETE FROM audit_prune_grants g WHERE g.backend_pid = pg_backend_pid();
  RETURN QUERY SELECT plan.pruned_count, plan.last_pruned_seq, plan.last_pruned_hash;
END
$$;

-- The head of a chain only moves forward, and only onto an event of the chain:
-- a rewound head (to cut the tail, then append a different history after it)
-- is refused, as is a head naming no event. A new head starts at genesis. It
-- is never deleted nor truncated.
CREATE FUNCTION agent_gate_head_forward() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.seq <> 0 OR NEW.hash <> repeat('0', 64) THEN
      RAISE EXCEPTION 'audit_heads: a new chain starts at seq 0 and the genesis hash'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.installation_id <> OLD.installation_id OR NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) THEN
    RAISE EXCEPTION 'audit_heads moves forward only: installation % is at seq %, refused seq %', OLD.installation_id, OLD.seq, NEW.seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_heads_forward BEFORE INSERT OR UPDATE ON audit_heads
  FOR EACH ROW EXECUTE FUNCTION agent_gate_head_forward();
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
  FOR EACH STATEMENT EXECUTE FUNCTION agent_gate_refuse_change();

-- Checked when the transaction commits: its events are in by then.
CREATE FUNCTION agent_gate_head_names_event() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
BEGIN
  IF NEW.seq > 0 AND NOT EXISTS (
       SELECT 1 FROM public.audit_events e
        WHERE e.installation_id = NEW.installation_id AND e.seq = NEW.seq AND e.hash = NEW.hash) THEN
    RAISE EXCEPTION 'audit_heads: installation %''s head (seq %) names no event of its chain', NEW.installation_id, NEW.seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER audit_heads_names_event AFTER UPDATE ON audit_heads
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION agent_gate_head_names_event();
