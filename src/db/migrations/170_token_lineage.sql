-- A token's lineage: the id of the first token of a chain of rotations,
-- kept by every token that replaces it. A proposal made with a key is
-- redeemed by that key or its rotation successor, and by no other key of
-- the installation. Tokens issued before this start a lineage of their own.
ALTER TABLE agent_tokens ADD COLUMN lineage bigint;
UPDATE agent_tokens SET lineage = id WHERE lineage IS NULL;
ALTER TABLE agent_tokens ALTER COLUMN lineage SET NOT NULL;
