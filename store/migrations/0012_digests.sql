-- The managers' digest mail (issue 19): one row per period a digest was
-- queued for (or deliberately skipped), so that a restart never sends a
-- period's digest twice and the first start after downtime sends the
-- missed one once. The mails themselves are outbox rows (kind 'digest',
-- no ticket); thread groups the periods whose mails share a References
-- root (the days of a week, the weeks of a month).
CREATE TABLE digests (
    period     TEXT PRIMARY KEY,  -- e.g. 'daily 2026-11-25'
    thread     TEXT NOT NULL,     -- e.g. 'daily 2026-W48'
    due_at     TEXT NOT NULL,     -- the scheduled instant
    queued_at  TEXT NOT NULL,     -- when the row was written
    recipients INTEGER NOT NULL,  -- mails queued; 0 with skipped
    skipped    INTEGER NOT NULL DEFAULT 0 -- 1: recorded at the first start, nothing sent
);
CREATE INDEX digests_thread ON digests (thread, due_at);
