package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RefreshToken returns the OAuth2 refresh token stored for account (a
// mailbox's name, or "smtp"); "" when none is stored.
func (s *Store) RefreshToken(ctx context.Context, account string) (string, error) {
	var tok string
	err := s.read.QueryRowContext(ctx, `SELECT refresh_token FROM oauth_tokens WHERE account = ?`, account).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("refresh token of %s: %w", account, err)
	}
	return tok, nil
}

// SetRefreshToken stores account's refresh token in place of the one
// before it.
func (s *Store) SetRefreshToken(ctx context.Context, account, token string) error {
	if token == "" {
		return fmt.Errorf("refresh token of %s: empty", account)
	}
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO oauth_tokens (account, refresh_token, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (account) DO UPDATE SET refresh_token = excluded.refresh_token, updated_at = excluded.updated_at`,
			account, token, fmtTime(tx.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("store the refresh token of %s: %w", account, err)
	}
	return nil
}
