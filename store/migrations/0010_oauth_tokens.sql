-- OAuth2 refresh tokens of delegated access (issue 18): one per account
-- (a mailbox's name, or "smtp"), written by `helpdeskd oauth login` and
-- replaced at every refresh, since providers rotate them and an old one
-- may stop working at once.
CREATE TABLE oauth_tokens (
    account       TEXT PRIMARY KEY,
    refresh_token TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
