-- The app's login (agent_gate_service, migration 160) is granted table by table
-- what its work across installations needs. The tables added after 160 get
-- theirs here: the notifier's queue, pacing, messages and schedule, and the
-- Slack links it reads before a tenant is known; reviewer requests; the read
-- cache and rate-limit windows; the audit tree, its checkpoints and the
-- checkpoint sweep's queue (append-only: SELECT and INSERT only).
GRANT SELECT, INSERT, UPDATE, DELETE ON notify_channels, notify_jobs, notify_pace, notify_messages, notify_schedule,
  slack_links, slack_link_tokens TO agent_gate_service;
GRANT SELECT, INSERT, DELETE ON slack_replays TO agent_gate_service;
GRANT USAGE ON SEQUENCE notify_jobs_id_seq TO agent_gate_service;
GRANT SELECT, INSERT ON reviewer_requests TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON github_etags, github_rate_limits TO agent_gate_service;
GRANT SELECT, INSERT ON audit_tree_nodes, audit_checkpoints TO agent_gate_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_checkpoint_due TO agent_gate_service;
