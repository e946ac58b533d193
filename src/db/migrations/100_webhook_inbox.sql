-- Webhook inbox: every verified delivery is recorded here before it is
-- acknowledged, and processed after the acknowledgement.
--
-- The inbox is filled before the delivery's installation is trusted and is
-- read across installations by the processor, so it has no row level
-- security and NO grant to the app role: only the owner connection (outside
-- tenant transactions) reads and writes it, and the one trigger below runs as
-- its owner (SECURITY DEFINER). A delivery's consequences still run in a
-- tenant transaction, as the app role.
CREATE TABLE webhook_inbox (
  id              bigserial   PRIMARY KEY,          -- arrival order
  app_id          bigint      NOT NULL,
  delivery_id     text        NOT NULL,
  event           text        NOT NULL,
  action          text,
  installation_id bigint,
  -- deliveries of one subject (a pull request, a proposal, an installation) are processed in arrival order
  subject         text        NOT NULL,
  payload         text,                             -- the verified body as received; NULL once processed
  received_at     timestamptz NOT NULL,
  processed_at    timestamptz,
  attempts        integer     NOT NULL DEFAULT 0,
  run_after       timestamptz,
  locked_until    timestamptz,
  locked_by       text,
  last_error      text,
  set_aside_at    timestamptz,
  UNIQUE (app_id, delivery_id)
);
CREATE INDEX webhook_inbox_open ON webhook_inbox (subject, id) WHERE processed_at IS NULL AND set_aside_at IS NULL;
CREATE INDEX webhook_inbox_processed ON webhook_inbox (processed_at) WHERE processed_at IS NOT NULL;
REVOKE ALL ON webhook_inbox FROM agent_gate_app;

-- A delivery is processed when its ledger row commits (webhook_deliveries,
-- written in the transaction of its consequences); that same transaction
-- marks its inbox row processed and deletes the payload. The row itself
-- stays (ids only) so that a redelivery is recognised without reading the
-- ledger, which row level security keeps per installation; rows are pruned
-- once past GitHub's redelivery window.
CREATE FUNCTION agent_gate_inbox_processed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  UPDATE webhook_inbox SET processed_at = NEW.received_at, payload = NULL, locked_until = NULL
   WHERE app_id = NEW.app_id AND delivery_id = NEW.delivery_id AND processed_at IS NULL;
  RETURN NEW;
END
$$;

CREATE TRIGGER webhook_deliveries_processed AFTER INSERT ON webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION agent_gate_inbox_processed();

-- Where the last sweep of GitHub's delivery log ended, and who holds the sweep.
CREATE TABLE webhook_recovery (
  app_id          bigint      PRIMARY KEY,
  last_seen_id    bigint,                 -- the newest delivery-log entry seen by a completed sweep
  swept_at        timestamptz,
  lease_until     timestamptz,
  lease_holder    text
);
REVOKE ALL ON webhook_recovery FROM agent_gate_app;
