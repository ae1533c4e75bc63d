package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// AgentToken returns the agent's reply-address token, creating one the
// first time.
func (tx *Tx) AgentToken(email string) (string, error) {
	email = strings.ToLower(email)
	var tok string
	err := tx.queryRow(`SELECT token FROM agent_tokens WHERE email = ?`, email).Scan(&tok)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("agent token: %w", err)
	}
	tok = newToken(10)
	if _, err := tx.exec(`INSERT INTO agent_tokens (email, token, created_at) VALUES (?, ?, ?)`, email, tok, fmtTime(tx.now)); err != nil {
		return "", fmt.Errorf("agent token: %w", err)
	}
	return tok, nil
}

// RotateAgentToken replaces the agent's reply-address secret with a new
// one, so that every reply address made from the old one proves nothing,
// and records the rotation. It returns the new secret.
func (tx *Tx) RotateAgentToken(email string) (string, error) {
	email = strings.ToLower(email)
	tok := newToken(10)
	if _, err := tx.exec(`INSERT INTO agent_tokens (email, token, created_at) VALUES (?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET token = excluded.token, created_at = excluded.created_at`, email, tok, fmtTime(tx.now)); err != nil {
		return "", fmt.Errorf("rotate agent token: %w", err)
	}
	if _, err := tx.exec(`INSERT INTO agent_token_rotations (email, at) VALUES (?, ?)`, email, fmtTime(tx.now)); err != nil {
		return "", fmt.Errorf("rotate agent token: %w", err)
	}
	return tok, nil
}

// AgentTokensGeneration returns a number that grows with every
// RotateAgentToken: a cache of agent secrets read under an older number
// is stale.
func (tx *ReadTx) AgentTokensGeneration() (int64, error) {
	var gen int64
	if err := tx.queryRow(`SELECT COALESCE(MAX(id), 0) FROM agent_token_rotations`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("agent tokens generation: %w", err)
	}
	return gen, nil
}
