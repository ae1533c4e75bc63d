-- Logins that keep failing (issue 18, "a refresh that fails"): one row
-- per account (a mailbox's name, or "smtp") whose server or token
-- provider refused its credentials. failing_since is when the current
-- run of refusals began (NULL once a login works again); mailed_at is
-- when the managers were last mailed about the account, kept across a
-- recovery, so that a restart, a crash loop or a login that comes and
-- goes mails them at most once a day.
CREATE TABLE login_failures (
    account       TEXT PRIMARY KEY,
    failing_since TEXT,
    error         TEXT NOT NULL DEFAULT '',
    mailed_at     TEXT
);
