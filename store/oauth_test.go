package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestRefreshToken: none stored is ""; a new one replaces the old; it
// survives a reopen of the database.
func TestRefreshToken(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "helpdesk.db")
	s := openTest(t, path)
	if tok, err := s.RefreshToken(ctx, "support"); err != nil || tok != "" {
		t.Fatalf("before login: %q, %v", tok, err)
	}
	for _, tok := range []string{"rt-1", "rt-2"} {
		if err := s.SetRefreshToken(ctx, "support", tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRefreshToken(ctx, "smtp", "rt-smtp"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRefreshToken(ctx, "support", ""); err == nil {
		t.Error("an empty refresh token was accepted")
	}
	s.Close()
	s2 := openTest(t, path)
	if tok, err := s2.RefreshToken(ctx, "support"); err != nil || tok != "rt-2" {
		t.Errorf("after reopen: %q, %v; want rt-2", tok, err)
	}
	if tok, _ := s2.RefreshToken(ctx, "smtp"); tok != "rt-smtp" {
		t.Errorf("smtp: %q", tok)
	}
}
