-- Retention keeps a floor, enforced here rather than only by the caller, so
-- the app's own role cannot erase the chain through the pruning function:
--
-- * the cutoff must be a finite time no newer than the retention period
--   before the chain's last event (and before now): the last `min_days` days
--   of events always remain, and so does the chain's last event;
-- * the chain's last event must be the audit.pruned checkpoint of exactly
--   this prune (its data names the seq and hash of the last event deleted),
--   appended by the caller in the same transaction before the delete: every
--   prune leaves, in the chain, the checkpoint that accounts for it.
--
-- The retention period lives in audit_retention_policy, which the owner sets
-- (`agent-gate audit prune` does, from AGENT_GATE_RETENTION_DAYS) and the app
-- role may only read.

CREATE TABLE audit_retention_policy (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  min_days  integer NOT NULL CHECK (min_days >= 1)
);
INSERT INTO audit_retention_policy (singleton, min_days) VALUES (true, 90);
GRANT SELECT ON audit_retention_policy TO agent_gate_app;

-- What a prune before `before` would delete: the prefix of the chain up to
-- (not including) the earliest event created at or after `before`. Read-only.
CREATE FUNCTION agent_gate_prune_plan(installation bigint, before timestamptz)
  RETURNS TABLE (pruned_count bigint, last_pruned_seq bigint, last_pruned_hash text)
  LANGUAGE sql
  STABLE
  SET search_path = pg_catalog, public
  AS $$
  WITH cutoff AS (
    SELECT coalesce(
      (SELECT e.seq - 1 FROM audit_events e
        WHERE e.installation_id = installation AND e.created_at >= before ORDER BY e.seq LIMIT 1),
      (SELECT h.seq FROM audit_heads h WHERE h.installation_id = installation)
    ) AS seq
  )
  SELECT count(e.seq)::bigint,
         CASE WHEN count(e.seq) = 0 THEN NULL ELSE max(e.seq) END,
         CASE WHEN count(e.seq) = 0 THEN NULL
              ELSE (SELECT l.hash FROM audit_events l WHERE l.installation_id = installation AND l.seq = max(e.seq)) END
    FROM audit_events e, cutoff c
   WHERE e.installation_id = installation AND e.seq <= c.seq
$$;

REVOKE ALL ON FUNCTION agent_gate_prune_plan(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_gate_prune_plan(bigint, timestamptz) TO agent_gate_app;

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
  PERFORM set_config('agent_gate.pruning', 'on', true);
  DELETE FROM audit_events e WHERE e.installation_id = installation AND e.seq <= plan.last_pruned_seq;
  PERFORM set_config('agent_gate.pruning', 'off', true);
  RETURN QUERY SELECT plan.pruned_count, plan.last_pruned_seq, plan.last_pruned_hash;
END
$$;
