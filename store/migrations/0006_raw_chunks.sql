-- A raw mail larger than one chunk (1 MiB) is kept in chunks, in order,
-- with messages.raw NULL: SQLite copies every bound value and builds each
-- row whole in memory, so a 30 MB mail in one row cost 60 MB more while it
-- was inserted, and as much again when read.
CREATE TABLE message_raw (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    UNIQUE (message_id, seq)
);
