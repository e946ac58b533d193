-- Agent tokens carry a name an admin chose ("release-bot"), shown as the
-- proposer on check runs and the review page, and kept by a rotation.
-- Tokens issued before names existed are named after their display prefix.
ALTER TABLE agent_tokens ADD COLUMN name text;
UPDATE agent_tokens SET name = prefix WHERE name IS NULL;
ALTER TABLE agent_tokens ALTER COLUMN name SET NOT NULL;
ALTER TABLE agent_tokens ADD CONSTRAINT agent_tokens_name_shape CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
