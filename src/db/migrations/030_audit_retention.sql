-- Retention: the one path that may delete audit events.
--
-- agent_gate_refuse_change (001_core.sql) lets a DELETE through only while the
-- transaction-local setting agent_gate.pruning is 'on'. The app role holds no
-- DELETE privilege on audit_events (and no policy grants one), so setting the
-- flag itself gets it nothing: only this SECURITY DEFINER function, running as
-- the owner, deletes, and it turns the flag off again before it returns.
--
-- It deletes a prefix of one installation's chain: every event up to (not
-- including) the earliest event created at or after `before`, so what remains
-- is an unbroken run of the chain. It returns what the caller writes into the
-- audit.pruned checkpoint event: the count, and the seq and hash of the last
-- event deleted, which is the prev_hash of the first event that remains.

REVOKE DELETE, TRUNCATE, UPDATE ON audit_events FROM PUBLIC;
REVOKE DELETE, TRUNCATE, UPDATE ON audit_events FROM agent_gate_app;

CREATE FUNCTION agent_gate_prune_audit(installation bigint, before timestamptz)
  RETURNS TABLE (pruned_count bigint, last_pruned_seq bigint, last_pruned_hash text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, public
  AS $$
DECLARE
  cutoff bigint;
  head_seq bigint;
BEGIN
  IF installation IS NULL OR before IS NULL THEN
    RAISE EXCEPTION 'agent_gate_prune_audit: installation and before are required'
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
  SELECT e.seq - 1 INTO cutoff FROM audit_events e
    WHERE e.installation_id = installation AND e.created_at >= before
    ORDER BY e.seq LIMIT 1;
  IF cutoff IS NULL THEN
    cutoff := head_seq;
  END IF;
  RETURN QUERY SELECT count(*)::bigint, max(e.seq),
      (SELECT l.hash FROM audit_events l WHERE l.installation_id = installation AND l.seq = cutoff)
    FROM audit_events e WHERE e.installation_id = installation AND e.seq <= cutoff;
  PERFORM set_config('agent_gate.pruning', 'on', true);
  DELETE FROM audit_events e WHERE e.installation_id = installation AND e.seq <= cutoff;
  PERFORM set_config('agent_gate.pruning', 'off', true);
END
$$;

REVOKE ALL ON FUNCTION agent_gate_prune_audit(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_gate_prune_audit(bigint, timestamptz) TO agent_gate_app;
