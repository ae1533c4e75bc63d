package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Checkpoint returns the mailbox's stored (uidvalidity, last_uid); zeros
// when the mailbox was never read.
func (s *Store) Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT uidvalidity, last_uid FROM mailbox_checkpoints WHERE mailbox = ?`, mailbox).
		Scan(&uidValidity, &lastUID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: %w", mailbox, err)
	}
	return uidValidity, lastUID, nil
}

// SetCheckpoint moves the mailbox's checkpoint in the transaction that
// commits the message it covers (STYLE rule 12: never ahead of the work). A
// UID below the stored one for the same UIDVALIDITY never moves it back.
func (tx *Tx) SetCheckpoint(mailbox string, uidValidity, uid uint32) error {
	_, err := tx.exec(`INSERT INTO mailbox_checkpoints (mailbox, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (mailbox) DO UPDATE SET
			last_uid = CASE WHEN uidvalidity = excluded.uidvalidity THEN MAX(last_uid, excluded.last_uid) ELSE excluded.last_uid END,
			uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at`,
		mailbox, uidValidity, uid, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("set checkpoint %s: %w", mailbox, err)
	}
	return nil
}

// Quarantine keeps an unreadable mail with the reason it was rejected. A
// second rejection of the same UID is ignored.
func (tx *Tx) Quarantine(mailbox string, uidValidity, uid uint32, reason string, raw []byte) error {
	_, err := tx.exec(`INSERT INTO quarantine (mailbox, uidvalidity, uid, reason, raw, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING`, mailbox, uidValidity, uid, reason, raw, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("quarantine %s uid %d: %w", mailbox, uid, err)
	}
	return nil
}

// StepFired reports whether an escalation step already fired for the
// ticket's clock and target.
func (tx *Tx) StepFired(ticketID int64, clock string, step int, target string) (bool, error) {
	var one int
	err := tx.queryRow(`SELECT 1 FROM escalations WHERE ticket_id = ? AND clock = ? AND step = ? AND target = ?`,
		ticketID, clock, step, target).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("step fired: %w", err)
	}
	return true, nil
}

// RecordStep marks an escalation step as fired; it reports false when it
// had fired already (then the caller must not send it again).
func (tx *Tx) RecordStep(ticketID int64, clock string, step int, target string) (bool, error) {
	res, err := tx.exec(`INSERT INTO escalations (ticket_id, clock, step, target, fired_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, ticketID, clock, step, target, fmtTime(tx.now))
	if err != nil {
		return false, fmt.Errorf("record step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AutoRepliesSince counts automatic replies sent to recipient since t.
func (tx *Tx) AutoRepliesSince(recipient string, since time.Time) (int, error) {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM auto_replies WHERE recipient = ? AND at >= ?`,
		strings.ToLower(recipient), fmtTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count auto replies: %w", err)
	}
	return n, nil
}

// RecordAutoReply notes an automatic reply to recipient, and forgets those
// older than keepSince.
func (tx *Tx) RecordAutoReply(recipient string, keepSince time.Time) error {
	if _, err := tx.exec(`INSERT INTO auto_replies (recipient, at) VALUES (?, ?)`, strings.ToLower(recipient), fmtTime(tx.now)); err != nil {
		return fmt.Errorf("record auto reply: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM auto_replies WHERE recipient = ? AND at < ?`, strings.ToLower(recipient), fmtTime(keepSince)); err != nil {
		return fmt.Errorf("prune auto replies: %w", err)
	}
	return nil
}

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
func (tx *Tx) AgentTokensGeneration() (int64, error) {
	var gen int64
	if err := tx.queryRow(`SELECT COALESCE(MAX(id), 0) FROM agent_token_rotations`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("agent tokens generation: %w", err)
	}
	return gen, nil
}
