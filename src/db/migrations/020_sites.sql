-- Sites an installation has proved it owns (DNS TXT record or well-known file).
-- A site belongs to one installation: another installation's verification of
-- the same domain gives nothing to this one.
CREATE TABLE sites (
  installation_id bigint      NOT NULL,
  domain          text        NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
  method          text        NOT NULL CHECK (method IN ('dns', 'file')),
  token           text        NOT NULL CHECK (token ~ '^[0-9A-Za-z]{32}$'),
  state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'failing', 'lapsed')),
  verified_at     timestamptz,
  last_checked_at timestamptz,
  last_outcome    text,
  failing_since   timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (installation_id, domain)
);
-- The daily re-check sweep looks for verified and failing sites by last check.
CREATE INDEX sites_recheck ON sites (last_checked_at) WHERE state IN ('verified', 'failing');

ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE sites FORCE ROW LEVEL SECURITY;
CREATE POLICY sites_tenant ON sites
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
-- The re-check sweep and the admin CLI list sites across installations from an owner
-- transaction that opts in with set_config('agent_gate.site_sweep', 'on', true);
-- the app role never sees another installation's rows, opt-in or not. Each
-- site is then checked and updated in its own tenant transaction.
CREATE POLICY sites_sweep_list ON sites FOR SELECT
  USING (current_setting('agent_gate.site_sweep', true) = 'on' AND current_user <> 'agent_gate_app');
GRANT SELECT, INSERT, UPDATE ON sites TO agent_gate_app;
