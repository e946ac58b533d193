-- Deadlines of pending proposals, readable across installations by the
-- expiry sweep without lifting row level security on proposals: they hold
-- ids and times only.
CREATE TABLE proposal_deadlines (
  proposal_id     text        PRIMARY KEY,
  installation_id bigint      NOT NULL,
  expires_at      timestamptz NOT NULL,
  claimed_until   timestamptz
);
CREATE INDEX proposal_deadlines_due ON proposal_deadlines (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON proposal_deadlines TO agent_gate_app;

CREATE FUNCTION agent_gate_track_deadline() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'pending' THEN
    INSERT INTO proposal_deadlines (proposal_id, installation_id, expires_at)
    VALUES (NEW.id, NEW.installation_id, NEW.expires_at)
    ON CONFLICT (proposal_id) DO UPDATE SET expires_at = EXCLUDED.expires_at;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER proposals_track_deadline AFTER INSERT OR UPDATE OF status ON proposals
  FOR EACH ROW EXECUTE FUNCTION agent_gate_track_deadline();
