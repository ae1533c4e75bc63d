-- A raw mail larger than one chunk (1 MiB) is kept in chunks, in order,
-- with messages.raw (quarantine.raw for an unreadable one) NULL; so is a
-- kept attachment larger than a chunk, with attachments.data empty (and
-- its size above zero). SQLite copies
-- every bound value and builds each row whole in memory: a 30 MB mail or
-- file in one row cost 60 MB more while it was inserted.
CREATE TABLE message_raw (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    UNIQUE (message_id, seq)
);

CREATE TABLE attachment_chunks (
    id            INTEGER PRIMARY KEY,
    attachment_id INTEGER NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    UNIQUE (attachment_id, seq)
);

CREATE TABLE quarantine_raw (
    id            INTEGER PRIMARY KEY,
    quarantine_id INTEGER NOT NULL REFERENCES quarantine (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    UNIQUE (quarantine_id, seq)
);
