-- The board's per-manager link secrets (issue 19, "Managers see the
-- desk"). A manager's board link is an HMAC of their address and the
-- link's expiry under their secret; `helpdeskd board rotate EMAIL`
-- replaces the secret, so every link made before proves nothing. Kept
-- apart from agent_tokens: rotating a board link must not break the reply
-- addresses in a manager's mail, and a manager need not be an agent.
CREATE TABLE board_secrets (
    email      TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
