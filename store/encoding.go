package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
)

// timeLayout is the fixed-width UTC form every time is stored in, so that
// times compare correctly as strings.
const timeLayout = "2006-01-02T15:04:05.000Z"

// fmtTime formats t for storage; the zero time is NULL.
func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored time; NULL or "" is the zero time.
func parseTime(v sql.NullString) (time.Time, error) {
	if !v.Valid || v.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", v.String, err)
	}
	return t, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func unmarshalAll(src []string, dst []any) error {
	for i, s := range src {
		if s == "" {
			continue
		}
		if err := json.Unmarshal([]byte(s), dst[i]); err != nil {
			return err
		}
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain types are marshalled here; failure is a bug.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func addrList(as []helpdesk.Address) []helpdesk.Address {
	if as == nil {
		return []helpdesk.Address{}
	}
	return as
}

// newToken returns an unguessable token of n random bytes in lower-case
// base32 (safe in the local part of an address).
func newToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// column reads the one column of every row and closes rows.
func column[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
