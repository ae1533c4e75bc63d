-- Delivery state per recipient of each outbox mail (issue 16, "recipients,
-- one by one"): a JSON array of {email, state, reply, at}, in the order of
-- To then Cc. '' means no attempt has answered any recipient yet: every
-- address of to_addrs and cc_addrs is pending (or, for rows written before
-- this migration, delivered when the row is sent and refused when it
-- failed). Kept on the row, so that recording an attempt stays one UPDATE
-- and enqueueing costs nothing more.
ALTER TABLE outbox ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
-- Mail to the ticket's customer side: recipients it cannot reach are
-- reported to the agents.
ALTER TABLE outbox ADD COLUMN to_customer INTEGER NOT NULL DEFAULT 0;
-- The agent whose reply the mail relays, told when it cannot reach someone.
ALTER TABLE outbox ADD COLUMN author TEXT NOT NULL DEFAULT '';
-- helpdeskd show lists the outgoing mails of a ticket.
CREATE INDEX outbox_ticket ON outbox (ticket_id);
