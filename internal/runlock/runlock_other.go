//go:build !unix

package runlock

// Lock is a held run lock; Release gives it back. On systems without
// flock, Acquire succeeds without locking: helpdeskd is built for Unix.
type Lock struct{}

// Path is the lock file of the database at db.
func Path(db string) string { return db + ".lock" }

// Acquire does nothing here (no flock).
func Acquire(db string) (*Lock, error) { return &Lock{}, nil }

// Release does nothing here.
func (l *Lock) Release() error { return nil }
