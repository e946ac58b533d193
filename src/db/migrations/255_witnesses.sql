-- Witnesses of the audit log (docs/audit.md, "Witnesses"): per installation,
-- the C2SP tlog-witness endpoints an admin names. Each checkpoint goes to each
-- witness through this table, which is its own durable queue: target_size is
-- the latest checkpoint to send, witnessed_size the size the witness holds
-- (its last cosignature, or the size it answered with a 409), so a witness
-- that was down is sent the latest checkpoint with a consistency proof from
-- what it last saw, and loses nothing. A witness that refused a checkpoint as
-- inconsistent keeps refused_at (an alert: audited as witness.refused, a
-- metric, a `doctor` failure) and is sent nothing more until re-added.
CREATE TABLE witnesses (
  installation_id bigint      NOT NULL,
  name            text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  url             text        NOT NULL CHECK (url ~ '^https?://'),
  vkey            text        NOT NULL,
  created_at      timestamptz NOT NULL,
  target_size     bigint      NOT NULL DEFAULT 0,
  witnessed_size  bigint      NOT NULL DEFAULT 0,
  attempts        integer     NOT NULL DEFAULT 0,
  run_after       timestamptz,
  claimed_until   timestamptz,
  last_error      text,
  refused_at      timestamptz,
  refused_reason  text,
  PRIMARY KEY (installation_id, name)
);
ALTER TABLE witnesses ENABLE ROW LEVEL SECURITY;
ALTER TABLE witnesses FORCE ROW LEVEL SECURITY;
CREATE POLICY witnesses_tenant ON witnesses
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
-- The sweep claims sends across installations outside a tenant transaction.
CREATE POLICY witnesses_owner ON witnesses USING (current_user <> 'agent_gate_app');
GRANT SELECT, INSERT, UPDATE, DELETE ON witnesses TO agent_gate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON witnesses TO agent_gate_service;

-- The cosignatures witnesses answered, kept (append-only like the checkpoints they sign).
CREATE TABLE audit_cosignatures (
  installation_id bigint      NOT NULL,
  witness         text        NOT NULL,
  tree_size       bigint      NOT NULL CHECK (tree_size >= 0),
  signatures      text        NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (installation_id, witness, tree_size)
);
CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE OR DELETE ON audit_cosignatures
  FOR EACH ROW EXECUTE FUNCTION agent_gate_refuse_audit_change();
CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures
  FOR EACH STATEMENT EXECUTE FUNCTION agent_gate_refuse_audit_change();
ALTER TABLE audit_cosignatures ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_cosignatures FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_cosignatures_tenant ON audit_cosignatures
  USING (installation_id = (SELECT agent_gate_tenant())) WITH CHECK (installation_id = (SELECT agent_gate_tenant()));
GRANT SELECT, INSERT ON audit_cosignatures TO agent_gate_app;
GRANT SELECT, INSERT ON audit_cosignatures TO agent_gate_service;
