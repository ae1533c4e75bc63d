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

-- The board reads the clocks of every ticket filed in its 90 days at each
-- request (store.ReadTx.TicketClocks): this index covers that query, so
-- SQLite reads these columns alone rather than every ticket's whole row.
CREATE INDEX tickets_clocks ON tickets (created_at, id, policy, plan, priority, status,
    first_response_at, resolved_at, response_due, resolution_due);
