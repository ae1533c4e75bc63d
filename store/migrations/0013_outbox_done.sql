-- When each outbox mail was done (sent or failed), for the recipients the
-- SMTP server accepted in the last 24 hours: the outbox's daily recipient
-- budget ([smtp] daily_recipients) is read from the sent mail at start, so
-- that a restart forgets nothing, without a table of its own. Without the
-- index that read is a scan of every mail ever sent, bodies included.
CREATE INDEX outbox_done ON outbox (coalesce(sent_at, failed_at)) WHERE status != 'pending';
