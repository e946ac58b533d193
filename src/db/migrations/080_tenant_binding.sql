-- The tenant of a transaction is a row only the owner can write, not a
-- setting: PostgreSQL lets any role SET or set_config() a custom setting, so a
-- tenant kept in one (agent_gate.installation_id before this migration) could
-- be changed by the app role's own SQL in the middle of its transaction.
--
-- agent_gate_enter_tenant(id), SECURITY DEFINER and executable by the owner
-- only, binds the current transaction (backend pid + top-level transaction id)
-- to one installation; a second call in the same transaction with another id
-- is refused. agent_gate_tenant(), which every policy reads, returns the
-- installation bound to the current transaction, or NULL. Setting, resetting
-- or forging agent_gate.installation_id no longer changes anything.
--
-- The table is UNLOGGED (a binding never outlives its transaction, so nothing
-- of it needs to survive a crash) and holds one row per backend.
CREATE UNLOGGED TABLE tenant_bindings (
  backend_pid     integer PRIMARY KEY,
  xact            xid8    NOT NULL,
  installation_id bigint  NOT NULL
);
REVOKE ALL ON tenant_bindings FROM PUBLIC;

CREATE FUNCTION agent_gate_enter_tenant(installation bigint) RETURNS bigint
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
DECLARE
  bound bigint;
BEGIN
  IF installation IS NULL OR installation < 0 THEN
    RAISE EXCEPTION 'agent_gate_enter_tenant: installation must be a non-negative integer'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO tenant_bindings AS b (backend_pid, xact, installation_id)
    VALUES (pg_backend_pid(), pg_current_xact_id(), installation)
    ON CONFLICT (backend_pid) DO UPDATE
      SET xact = EXCLUDED.xact, installation_id = EXCLUDED.installation_id
      WHERE b.xact <> EXCLUDED.xact
    RETURNING b.installation_id INTO bound;
  IF bound IS NULL THEN
    -- This transaction is already bound: the same id again is a no-op.
    SELECT b.installation_id INTO bound FROM tenant_bindings b WHERE b.backend_pid = pg_backend_pid();
    IF bound IS DISTINCT FROM installation THEN
      RAISE EXCEPTION 'agent_gate_enter_tenant: this transaction already has a tenant'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN installation;
END
$$;
REVOKE ALL ON FUNCTION agent_gate_enter_tenant(bigint) FROM PUBLIC;

-- Replaces the setting-reading version of 001_core.sql; the policies that
-- call it stay as they are.
CREATE OR REPLACE FUNCTION agent_gate_tenant() RETURNS bigint
  LANGUAGE sql STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
    SELECT b.installation_id FROM public.tenant_bindings b
     WHERE b.backend_pid = pg_catalog.pg_backend_pid()
       AND b.xact = pg_catalog.pg_current_xact_id_if_assigned()
  $$;
REVOKE ALL ON FUNCTION agent_gate_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_gate_tenant() TO agent_gate_app;

-- Raised before a tenant transaction commits when it no longer runs as the
-- app role in the tenant it began with (a RESET ROLE that slipped through):
-- the transaction is then rolled back.
CREATE FUNCTION agent_gate_check_tenant(expected bigint) RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF current_user <> 'agent_gate_app' OR agent_gate_tenant() IS DISTINCT FROM expected THEN
    RAISE EXCEPTION 'tenant transaction left its role or tenant; rolled back'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;

-- Policies read the tenant once per statement (an initplan), not per row.
ALTER POLICY audit_events_tenant ON audit_events
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
ALTER POLICY audit_heads_tenant ON audit_heads
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
ALTER POLICY proposals_tenant ON proposals
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
ALTER POLICY redemptions_tenant ON redemptions
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
ALTER POLICY sites_tenant ON sites
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
ALTER POLICY proposals_outreach_tenant ON proposals_outreach
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));

-- The tables that had no row level security. Each gets the tenant policy for
-- the app role and an owner policy for the workers that run across
-- installations on the owner connection, outside any tenant transaction
-- (outbox worker, expiry sweep, webhook ledger look-ups, the review page's
-- proposal directory). The app role matches only the tenant policy.
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY outbox_tenant ON outbox
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY outbox_owner ON outbox USING (current_user <> 'agent_gate_app');

ALTER TABLE outbox_pace ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_pace FORCE ROW LEVEL SECURITY;
CREATE POLICY outbox_pace_tenant ON outbox_pace
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY outbox_pace_owner ON outbox_pace USING (current_user <> 'agent_gate_app');

-- A delivery without an installation is recorded in tenant 0.
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
  USING (COALESCE(installation_id, 0) = (SELECT agent_gate_tenant()))
  WITH CHECK (COALESCE(installation_id, 0) = (SELECT agent_gate_tenant()));
CREATE POLICY webhook_deliveries_owner ON webhook_deliveries USING (current_user <> 'agent_gate_app');

ALTER TABLE proposal_deadlines ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposal_deadlines FORCE ROW LEVEL SECURITY;
CREATE POLICY proposal_deadlines_tenant ON proposal_deadlines
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY proposal_deadlines_owner ON proposal_deadlines USING (current_user <> 'agent_gate_app');

-- The app role only inserts here (from the proposals trigger), for its tenant.
ALTER TABLE proposal_directory ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposal_directory FORCE ROW LEVEL SECURITY;
CREATE POLICY proposal_directory_tenant ON proposal_directory FOR INSERT
  WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY proposal_directory_owner ON proposal_directory USING (current_user <> 'agent_gate_app');
