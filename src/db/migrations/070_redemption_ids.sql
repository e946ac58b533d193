-- A receipt is the answer of one successful redemption and names it: each
-- redemption gets an id, carried inside the signed receipt. Redemptions made
-- before this migration keep a NULL id (their receipts were v1, no longer valid).
ALTER TABLE redemptions ADD COLUMN id text UNIQUE CHECK (id ~ '^rdm_[0-9A-Za-z]{20,}$');
