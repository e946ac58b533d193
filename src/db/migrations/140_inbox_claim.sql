-- The processor claims the oldest open deliveries first: an index of open
-- deliveries in arrival order lets a claim read only the front of the queue.
CREATE INDEX webhook_inbox_open_order ON webhook_inbox (id) WHERE processed_at IS NULL AND set_aside_at IS NULL;

-- Every delivery is updated two or three times (claimed, processed, its
-- payload dropped): vacuum the inbox early so the open indexes stay small.
ALTER TABLE webhook_inbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200, autovacuum_analyze_scale_factor = 0.02);
