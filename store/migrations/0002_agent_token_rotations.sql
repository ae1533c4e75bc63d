-- Each replacement of an agent's reply-address secret (helpdeskd agent
-- rotate). The highest id is the generation a running desk compares with
-- its cache of secrets, so a rotation done by another process takes effect
-- at the next mail.
CREATE TABLE agent_token_rotations (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    at    TEXT NOT NULL
);
