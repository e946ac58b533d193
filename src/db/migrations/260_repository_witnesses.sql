-- Repository witnesses (docs/audit.md, "Witnesses"): besides a C2SP
-- tlog-witness (url, vkey), a witness may be a branch of a repository the App
-- is installed on, in the same installation. Each checkpoint is committed there
-- as a file, so GitHub's own history holds the sequence. It goes through the
-- same durable queue (target_size, witnessed_size, backoff, refusal); the
-- commit that holds the witnessed checkpoint is kept in witnessed_commit.
-- repository_id is what the narrowed token is asked for; repository is the
-- name the admin gave, for messages.
ALTER TABLE witnesses ALTER COLUMN url DROP NOT NULL;
ALTER TABLE witnesses ALTER COLUMN vkey DROP NOT NULL;
ALTER TABLE witnesses
  ADD COLUMN repository       text,
  ADD COLUMN repository_id    bigint,
  ADD COLUMN branch           text,
  ADD COLUMN witnessed_commit text;
ALTER TABLE witnesses ADD CONSTRAINT witnesses_one_kind CHECK (
  (url IS NOT NULL AND vkey IS NOT NULL AND repository IS NULL AND repository_id IS NULL AND branch IS NULL)
  OR (url IS NULL AND vkey IS NULL AND repository ~ '^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$'
      AND repository_id > 0 AND branch ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$')
);
-- One witness per branch of a repository: two would overwrite each other's file.
CREATE UNIQUE INDEX witnesses_repository_branch ON witnesses (installation_id, repository_id, branch)
  WHERE repository_id IS NOT NULL;
