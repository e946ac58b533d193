-- Leases of background sweeps that one replica at a time runs (reconciliation).
-- Owner-only, like the inbox: no tenant data, not granted to the app role.
CREATE TABLE sweep_leases (
  name        text        PRIMARY KEY,
  holder      text        NOT NULL,
  lease_until timestamptz NOT NULL
);
REVOKE ALL ON sweep_leases FROM agent_gate_app;
