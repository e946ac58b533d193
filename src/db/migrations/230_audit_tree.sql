-- The audit log as a verifiable log: per installation, an RFC 6962/9162
-- Merkle tree over the audit events, beside the hash chain. An event's leaf
-- data is its 32-byte chain hash; its leaf index is seq - tree_first_seq.
--
-- * audit_heads keeps the tree's size and its compact range (the roots of its
--   perfect subtrees, hex, concatenated), moved with the chain head in the
--   same statement, so an append costs O(log n) hashes and no extra round trip.
--   tree_first_seq is 1 for an installation created from now on; an
--   installation whose chain began before this migration starts its tree
--   with its next event.
-- * audit_tree_nodes keeps every completed perfect subtree (about two rows per
--   event), so an inclusion or consistency proof is one indexed read.
-- * audit_checkpoints keeps the signed checkpoints (C2SP signed notes).
-- * audit_checkpoint_due names the installations whose tree grew since their
--   last checkpoint, for the sweep that signs one at least every minute.
--
-- Nodes and checkpoints are append-only, like the events; retention deletes
-- neither, so proofs of the events it keeps still verify.

ALTER TABLE audit_heads ADD COLUMN tree_first_seq bigint;
ALTER TABLE audit_heads ADD COLUMN tree_size bigint NOT NULL DEFAULT 0;
ALTER TABLE audit_heads ADD COLUMN tree_frontier text NOT NULL DEFAULT '';

CREATE INDEX audit_events_hash ON audit_events (installation_id, hash);

CREATE FUNCTION agent_gate_refuse_audit_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE audit_tree_nodes (
  installation_id bigint   NOT NULL,
  level           smallint NOT NULL CHECK (level >= 0 AND level < 64),
  idx             bigint   NOT NULL CHECK (idx >= 0),
  hash            bytea    NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (installation_id, level, idx)
);
CREATE TRIGGER audit_tree_nodes_no_update BEFORE UPDATE OR DELETE ON audit_tree_nodes
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_audit_change();
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON audit_tree_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION agent_gate_refuse_audit_change();
ALTER TABLE audit_tree_nodes ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_tree_nodes FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_tree_nodes_tenant ON audit_tree_nodes
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
GRANT SELECT, INSERT ON audit_tree_nodes TO agent_gate_app;

CREATE TABLE audit_checkpoints (
  installation_id bigint      NOT NULL,
  tree_size       bigint      NOT NULL CHECK (tree_size >= 0),
  root_hash       text        NOT NULL CHECK (root_hash ~ '^[0-9a-f]{64}$'),
  note            text        NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (installation_id, tree_size)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_audit_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION agent_gate_refuse_audit_change();
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoints_tenant ON audit_checkpoints
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
GRANT SELECT, INSERT ON audit_checkpoints TO agent_gate_app;

-- Ids and sizes only; claimed across installations by the checkpoint sweep.
CREATE TABLE audit_checkpoint_due (
  installation_id bigint      PRIMARY KEY,
  tree_size       bigint      NOT NULL,
  claimed_until   timestamptz
);
ALTER TABLE audit_checkpoint_due ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoint_due FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoint_due_tenant ON audit_checkpoint_due
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
CREATE POLICY audit_checkpoint_due_owner ON audit_checkpoint_due USING (current_user <> 'agent_gate_app');
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_checkpoint_due TO agent_gate_app;
