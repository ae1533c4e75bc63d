package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LoginFailure is what the store keeps of an account whose login failed:
// Since is when the current run of refusals began (zero once a login
// works again), MailedAt when the managers were last mailed about it
// (zero: never).
type LoginFailure struct {
	Account  string
	Since    time.Time
	Error    string
	MailedAt time.Time
}

// LoginFailed records that account's login was refused with reason at the
// transaction's time: a new run of refusals starts now unless one is
// under way. It returns the account's record as it is now.
func (tx *Tx) LoginFailed(account, reason string) (LoginFailure, error) {
	_, err := tx.exec(`INSERT INTO login_failures (account, failing_since, error) VALUES (?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET failing_since = COALESCE(failing_since, excluded.failing_since),
		error = excluded.error`, account, fmtTime(tx.now), reason)
	if err != nil {
		return LoginFailure{}, fmt.Errorf("record the refused login of %s: %w", account, err)
	}
	return tx.loginFailure(account)
}

// LoginMailed records that the managers were mailed about account now.
func (tx *Tx) LoginMailed(account string) error {
	if _, err := tx.exec(`UPDATE login_failures SET mailed_at = ? WHERE account = ?`, fmtTime(tx.now), account); err != nil {
		return fmt.Errorf("record the mail about the login of %s: %w", account, err)
	}
	return nil
}

// LoginWorks records that account logged in: the run of refusals is
// over. It returns the record as it was before, Since zero when the
// account was not failing; when the mail was last sent stays.
func (tx *Tx) LoginWorks(account string) (LoginFailure, error) {
	before, err := tx.loginFailure(account)
	if err != nil || before.Since.IsZero() {
		return before, err
	}
	if _, err := tx.exec(`UPDATE login_failures SET failing_since = NULL, error = '' WHERE account = ?`, account); err != nil {
		return before, fmt.Errorf("record the login of %s: %w", account, err)
	}
	return before, nil
}

// loginFailure reads account's record; a zero one (Account set) when there
// is none.
func (tx *ReadTx) loginFailure(account string) (LoginFailure, error) {
	f := LoginFailure{Account: account}
	var since, mailed sql.NullString
	err := tx.queryRow(`SELECT failing_since, error, mailed_at FROM login_failures WHERE account = ?`, account).
		Scan(&since, &f.Error, &mailed)
	if errors.Is(err, sql.ErrNoRows) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("login failures of %s: %w", account, err)
	}
	if f.Since, err = parseTime(since); err != nil {
		return f, err
	}
	if f.MailedAt, err = parseTime(mailed); err != nil {
		return f, err
	}
	return f, nil
}
