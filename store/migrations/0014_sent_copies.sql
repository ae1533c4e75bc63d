-- Sent copies (issue 18): each mail to a ticket's customer side, from a
-- mailbox with a Sent folder, is kept here as the exact bytes the SMTP
-- server was offered, written before they are offered, and APPENDed to
-- the mailbox's Sent folder once the server accepted the mail for someone.
-- status: pending (waiting for the mail to go out, or to be appended),
-- appended, skipped (never to be appended: larger than the server takes),
-- dropped (the mail reached nobody). raw is NULL once the copy is done,
-- and for a copy kept in chunks (larger than 1 MiB, sent_copy_chunks).
-- appending_at is set before each APPEND and cleared with its outcome: a
-- copy that still has it was perhaps appended already, and is looked for
-- in the folder before it is appended again.
CREATE TABLE sent_copies (
    id              INTEGER PRIMARY KEY,
    outbox_id       INTEGER NOT NULL UNIQUE REFERENCES outbox (id) ON DELETE CASCADE,
    mailbox         TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    raw             BLOB,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    appending_at    TEXT,
    created_at      TEXT    NOT NULL,
    done_at         TEXT
);
CREATE INDEX sent_copies_due ON sent_copies (mailbox, next_attempt_at) WHERE status = 'pending';

CREATE TABLE sent_copy_chunks (
    id      INTEGER PRIMARY KEY,
    copy_id INTEGER NOT NULL REFERENCES sent_copies (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    data    BLOB    NOT NULL,
    UNIQUE (copy_id, seq)
);
