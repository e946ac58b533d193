-- Outreach proposals: what the agent wants to send, sealed at rest (secretbox
-- under the keyring, bound to purpose "outreach", the proposal id and the
-- installation). Only the channel and recipient count are kept in the clear.
CREATE TABLE proposals_outreach (
  proposal_id     text        PRIMARY KEY REFERENCES proposals (id),
  installation_id bigint      NOT NULL,
  channel         text        NOT NULL CHECK (channel IN ('email', 'post', 'message', 'api')),
  recipient_count integer     NOT NULL CHECK (recipient_count BETWEEN 1 AND 1000),
  sealed          text        NOT NULL,
  created_at      timestamptz NOT NULL
);

ALTER TABLE proposals_outreach ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposals_outreach FORCE ROW LEVEL SECURITY;
CREATE POLICY proposals_outreach_tenant ON proposals_outreach
  USING (installation_id = agent_gate_tenant())
  WITH CHECK (installation_id = agent_gate_tenant());
GRANT SELECT, INSERT ON proposals_outreach TO agent_gate_app;
