package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// boardSecretBytes is the size of a board link secret: an HMAC-SHA256 key
// of 256 bits.
const boardSecretBytes = 32

// BoardSecret returns the manager's board link secret, creating one the
// first time (helpdeskd board link).
func (tx *Tx) BoardSecret(email string) (string, error) {
	email = strings.ToLower(email)
	sec, err := tx.ReadTx.BoardSecret(email)
	if err == nil {
		return sec, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	sec = newToken(boardSecretBytes)
	if _, err := tx.exec(`INSERT INTO board_secrets (email, secret, created_at) VALUES (?, ?, ?)`, email, sec, fmtTime(tx.now)); err != nil {
		return "", fmt.Errorf("board secret: %w", err)
	}
	return sec, nil
}

// BoardSecret returns the manager's board link secret; ErrNotFound when
// none was ever made (no link of theirs can be valid).
func (tx *ReadTx) BoardSecret(email string) (string, error) {
	var sec string
	err := tx.queryRow(`SELECT secret FROM board_secrets WHERE email = ?`, strings.ToLower(email)).Scan(&sec)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("board secret: %w", err)
	}
	return sec, nil
}

// RotateBoardSecret replaces the manager's board link secret with a new
// one, so that every link made before proves nothing, and returns it.
func (tx *Tx) RotateBoardSecret(email string) (string, error) {
	sec := newToken(boardSecretBytes)
	if _, err := tx.exec(`INSERT INTO board_secrets (email, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`,
		strings.ToLower(email), sec, fmtTime(tx.now)); err != nil {
		return "", fmt.Errorf("rotate board secret: %w", err)
	}
	return sec, nil
}
