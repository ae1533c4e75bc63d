package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestLoginFailures: a run of refusals keeps the time it began and the
// latest reason; a working login ends it but keeps when the managers were
// mailed; all of it survives a reopen of the database.
func TestLoginFailures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "helpdesk.db")
	s := openTest(t, path)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := t0
	s.Now = func() time.Time { return now }
	update := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var f LoginFailure
	update(func(tx *Tx) (err error) {
		if f, err = tx.LoginWorks("support"); err == nil && !f.Since.IsZero() {
			t.Errorf("an account never refused was failing: %+v", f)
		}
		f, err = tx.LoginFailed("support", "invalid_grant: AADSTS70008")
		return err
	})
	if !f.Since.Equal(t0) || f.Error != "invalid_grant: AADSTS70008" || !f.MailedAt.IsZero() {
		t.Fatalf("first refusal: %+v", f)
	}
	now = t0.Add(time.Minute)
	update(func(tx *Tx) (err error) {
		if err := tx.LoginMailed("support"); err != nil {
			return err
		}
		f, err = tx.LoginFailed("support", "still refused")
		return err
	})
	if !f.Since.Equal(t0) || f.Error != "still refused" || !f.MailedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second refusal: %+v", f)
	}
	s.Close()

	s = openTest(t, path)
	now = t0.Add(time.Hour)
	s.Now = func() time.Time { return now }
	update(func(tx *Tx) (err error) {
		f, err = tx.LoginWorks("support")
		return err
	})
	if !f.Since.Equal(t0) || f.Error != "still refused" {
		t.Fatalf("the record before the recovery, after a reopen: %+v", f)
	}
	now = t0.Add(2 * time.Hour)
	update(func(tx *Tx) (err error) {
		f, err = tx.LoginFailed("support", "refused again")
		return err
	})
	if !f.Since.Equal(now) || !f.MailedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("a refusal after the recovery: %+v, want a new run since %v and the old mail time", f, now)
	}
	update(func(tx *Tx) (err error) {
		f, err = tx.LoginFailed("smtp", "535 5.7.8")
		return err
	})
	if f.Account != "smtp" || !f.MailedAt.IsZero() {
		t.Errorf("smtp shares support's record: %+v", f)
	}
}
