-- Each running app process (replica) says which keyring key ids it holds, so
-- `agent-gate keys rotate` can refuse while a live replica lacks the new key.
-- A row not refreshed for a short while belongs to a replica that is gone.
CREATE TABLE replica_keys (
  replica_id  text        PRIMARY KEY,
  host        text        NOT NULL,
  pid         integer     NOT NULL,
  key_ids     text[]      NOT NULL,
  current_key text        NOT NULL,
  seen_at     timestamptz NOT NULL
);
