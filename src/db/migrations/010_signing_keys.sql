-- Receipt-signing keys (Ed25519). Not tied to an installation: one set of keys
-- signs every receipt and is published at /.well-known/agent-gate/keys.json.
-- The secret half is sealed under the AGENT_GATE_KEYS keyring, bound to its kid.
-- Retired keys stay here and stay published so old receipts still verify.
CREATE TABLE signing_keys (
  kid           text        PRIMARY KEY,
  public_key    text        NOT NULL,
  sealed_secret text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('current', 'retired')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- At most one current key, whatever the number of processes creating one.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((status)) WHERE status = 'current';
GRANT SELECT ON signing_keys TO agent_gate_app;
