-- The review page (/proposals/<id>): where a proposal id lives, and the
-- sessions of people signed in with GitHub.

-- Which installation a proposal belongs to, so the page can open the right
-- tenant from an id alone without lifting row level security on proposals.
-- Ids and installations only; read by the owner role, written by a trigger.
CREATE TABLE proposal_directory (
  proposal_id     text   PRIMARY KEY,
  installation_id bigint NOT NULL
);
GRANT INSERT ON proposal_directory TO agent_gate_app;

CREATE FUNCTION agent_gate_track_proposal() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO proposal_directory (proposal_id, installation_id) VALUES (NEW.id, NEW.installation_id);
  RETURN NEW;
END
$$;

CREATE TRIGGER proposals_track_directory AFTER INSERT ON proposals
  FOR EACH ROW EXECUTE FUNCTION agent_gate_track_proposal();

-- Proposals made before this migration, one installation at a time so the
-- tenant policy shows each its own rows even to an owner under FORCE.
DO $$
DECLARE
  installation bigint;
BEGIN
  FOR installation IN SELECT id FROM installations LOOP
    PERFORM set_config('agent_gate.installation_id', installation::text, true);
    INSERT INTO proposal_directory (proposal_id, installation_id)
      SELECT id, installation_id FROM proposals ON CONFLICT (proposal_id) DO NOTHING;
  END LOOP;
  PERFORM set_config('agent_gate.installation_id', '', true);
END
$$;

-- Review page sessions. Not per installation (one person reviews for many),
-- so the owner role reads them before any tenant is known; the app role has
-- no grant. The session id itself is never stored: only its SHA-256 (hex).
-- The user's GitHub token is sealed under the keyring, bound to purpose
-- "review_session" and this row, and is deleted with the row.
CREATE TABLE review_sessions (
  id_hash      text        PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
  login        text        NOT NULL,
  user_id      bigint      NOT NULL,
  sealed_token text        NOT NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
);
CREATE INDEX review_sessions_expiry ON review_sessions (expires_at);

-- The page shows a proposal's own audit trail.
CREATE INDEX audit_events_subject ON audit_events (installation_id, subject, seq);
