-- Outbox jobs are leased, not held in an open transaction while GitHub is
-- called: a crashed worker's lease runs out and another process resumes it.
ALTER TABLE outbox ADD COLUMN locked_until timestamptz;
ALTER TABLE outbox ADD COLUMN locked_by text;
-- GitHub objects the outbox created, so a retried create finds the first one.
ALTER TABLE proposals ADD COLUMN github jsonb NOT NULL DEFAULT '{}'::jsonb;
-- A job is ready when run_after is unset or past, measured by the worker's clock.
ALTER TABLE outbox ALTER COLUMN run_after DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN run_after DROP DEFAULT;
