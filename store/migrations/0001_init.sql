-- helpdeskd schema, version 1. Times are UTC text in the fixed-width form
-- 2006-01-02T15:04:05.000Z so that they sort and compare as strings.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE tickets (
    id                     INTEGER PRIMARY KEY,
    number                 INTEGER NOT NULL UNIQUE,
    ref                    TEXT    NOT NULL UNIQUE,
    token                  TEXT    NOT NULL,
    subject                TEXT    NOT NULL DEFAULT '',
    customer               TEXT    NOT NULL,
    customer_name          TEXT    NOT NULL DEFAULT '',
    mailbox                TEXT    NOT NULL DEFAULT '',
    policy                 TEXT    NOT NULL DEFAULT '',
    plan                   TEXT    NOT NULL DEFAULT '',
    team                   TEXT    NOT NULL DEFAULT '',
    assignee               TEXT    NOT NULL DEFAULT '',
    priority               TEXT    NOT NULL,
    priority_source        TEXT    NOT NULL DEFAULT 'triage',
    claimed                TEXT    NOT NULL DEFAULT '',
    reasons                TEXT    NOT NULL DEFAULT '[]',
    status                 TEXT    NOT NULL,
    fields                 TEXT    NOT NULL DEFAULT '{}',
    missing                TEXT    NOT NULL DEFAULT '[]',
    linked_to              TEXT    NOT NULL DEFAULT '',
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL,
    first_response_at      TEXT,
    resolved_at            TEXT,
    closed_at              TEXT,
    response_due           TEXT,
    resolution_due         TEXT,
    response_breached_at   TEXT,
    resolution_breached_at TEXT,
    pauses                 TEXT    NOT NULL DEFAULT '[]',
    next_check_at          TEXT
);
CREATE INDEX tickets_next_check ON tickets (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX tickets_status ON tickets (status, created_at);
CREATE INDEX tickets_customer ON tickets (customer, created_at);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER REFERENCES tickets (id),
    message_id  TEXT    NOT NULL UNIQUE,
    direction   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    mailbox     TEXT    NOT NULL DEFAULT '',
    from_addr   TEXT    NOT NULL DEFAULT '',
    from_name   TEXT    NOT NULL DEFAULT '',
    to_addrs    TEXT    NOT NULL DEFAULT '[]',
    cc_addrs    TEXT    NOT NULL DEFAULT '[]',
    subject     TEXT    NOT NULL DEFAULT '',
    date        TEXT,
    received_at TEXT    NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    new_text    TEXT    NOT NULL DEFAULT '',
    html        TEXT    NOT NULL DEFAULT '',
    auto_reason TEXT    NOT NULL DEFAULT '',
    defects     TEXT    NOT NULL DEFAULT '[]',
    raw         BLOB
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL DEFAULT '',
    content_id   TEXT    NOT NULL DEFAULT '',
    inline       INTEGER NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL DEFAULT 0,
    data         BLOB,
    dropped      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX attachments_message ON attachments (message_id);

CREATE TABLE participants (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    email     TEXT    NOT NULL,
    name      TEXT    NOT NULL DEFAULT '',
    role      TEXT    NOT NULL,
    added_at  TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, email)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER REFERENCES tickets (id),
    at         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    message_id TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events (ticket_id, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER REFERENCES tickets (id),
    kind            TEXT    NOT NULL,
    message_id      TEXT    NOT NULL UNIQUE,
    from_addr       TEXT    NOT NULL,
    to_addrs        TEXT    NOT NULL,
    cc_addrs        TEXT    NOT NULL DEFAULT '[]',
    reply_to        TEXT    NOT NULL DEFAULT '[]',
    subject         TEXT    NOT NULL DEFAULT '',
    in_reply_to     TEXT    NOT NULL DEFAULT '',
    refs            TEXT    NOT NULL DEFAULT '[]',
    text            TEXT    NOT NULL DEFAULT '',
    html            TEXT    NOT NULL DEFAULT '',
    auto            INTEGER NOT NULL DEFAULT 0,
    headers         TEXT    NOT NULL DEFAULT '{}',
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    failed_at       TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE outbox_attachments (
    id           INTEGER PRIMARY KEY,
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL DEFAULT '',
    content_id   TEXT    NOT NULL DEFAULT '',
    inline       INTEGER NOT NULL DEFAULT 0,
    data         BLOB    NOT NULL
);
CREATE INDEX outbox_attachments_outbox ON outbox_attachments (outbox_id);

CREATE TABLE mailbox_checkpoints (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    raw         BLOB,
    at          TEXT    NOT NULL,
    UNIQUE (mailbox, uidvalidity, uid)
);

CREATE TABLE escalations (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    clock     TEXT    NOT NULL,
    step      INTEGER NOT NULL,
    target    TEXT    NOT NULL,
    fired_at  TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, clock, step, target)
);

CREATE TABLE auto_replies (
    id        INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX auto_replies_recipient ON auto_replies (recipient, at);

CREATE TABLE agent_tokens (
    email      TEXT PRIMARY KEY,
    token      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
