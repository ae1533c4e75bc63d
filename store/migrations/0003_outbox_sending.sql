-- When the outbox began offering a row to the SMTP server, set before the
-- DATA and cleared when the outcome (sent, retry, failed) is recorded. A
-- pending row that still has it at the next start was in flight when the
-- last run ended: the server may have accepted it, so sending it again may
-- repeat it (same Message-ID; RFC 1047: SMTP has no two-phase commit).
ALTER TABLE outbox ADD COLUMN sending_at TEXT;
