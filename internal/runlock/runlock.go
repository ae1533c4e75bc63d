//go:build unix

// Package runlock keeps a second daemon off a desk another one runs: an OS
// lock (flock) on a file beside the database, held for the life of the
// process and released by the kernel when it exits, however it exits. Two
// daemons on one database would both send every queued mail.
package runlock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// Lock is a held run lock; Release gives it back.
type Lock struct {
	f *os.File
}

// HeldError says that another process holds the run lock of a database.
type HeldError struct {
	DB     string // the database
	Holder string // what the holder wrote into the lock file ("pid 1234 on host x since ..."), "" if unknown
}

// Error names the database and, where it can, the other process.
func (e *HeldError) Error() string {
	who := "another process"
	if e.Holder != "" {
		who = "another process (" + e.Holder + ")"
	}
	return fmt.Sprintf("%s is in use by %s: only one helpdeskd may run on a database (its lock file is %s)", e.DB, who, Path(e.DB))
}

// ErrHeld is matched by every *HeldError (errors.Is).
var ErrHeld = errors.New("run lock held by another process")

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Path is the lock file of the database at db.
func Path(db string) string { return db + ".lock" }

// Acquire takes the run lock of the database at db without waiting. When
// another process holds it, it returns a *HeldError naming that process.
func Acquire(db string) (*Lock, error) {
	path := Path(db)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{DB: db, Holder: holder}
		}
		return nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	note := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(note), 0) // the note only helps the error message
	}
	return &Lock{f: f}, nil
}

// Release gives the lock back. The file stays: removing it would let a
// third process lock a new file while a second still holds the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func readHolder(f *os.File) string {
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
