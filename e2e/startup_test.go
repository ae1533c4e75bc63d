//go:build linux

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver of the test's own connection

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// mountTmpfs mounts a tmpfs of the given options on a new directory and
// unmounts it when the test ends. It skips the test where mounting is not
// allowed (not root, or a container without CAP_SYS_ADMIN).
func mountTmpfs(t testing.TB, flags uintptr, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): no way to fill a disk here", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// fill writes to a file in dir until the file system is full.
func fill(t testing.TB, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	// Small writes take the last partial blocks.
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
}

// createStore creates a database with the current schema, as an earlier
// run of the daemon would have.
func createStore(t testing.TB, path string) {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("create store: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// failStart runs `helpdeskd run` and expects it to give up by itself: a
// non-zero exit within limit and a message containing one of wants.
func failStart(t *testing.T, cfg testDesk, limit time.Duration, wants ...string) time.Duration {
	t.Helper()
	d := newDaemon(t, cfg)
	start := time.Now()
	d.start()
	code := d.wait(limit)
	took := time.Since(start)
	out := d.log()
	if code == 0 {
		t.Errorf("helpdeskd run exited 0, want a failure; output:\n%s", out)
	}
	found := false
	for _, w := range wants {
		found = found || strings.Contains(out, w)
	}
	if !found {
		t.Errorf("helpdeskd run's output does not say %q:\n%s", strings.Join(wants, `" or "`), out)
	}
	t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), lastLine(out))
	return took
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestDatabaseLockedAtStart: another process holds the database (a write
// transaction, BEGIN EXCLUSIVE): `helpdeskd run` waits the busy timeout
// (5s), then exits non-zero naming the lock. Once the lock is gone it starts.
func TestDatabaseLockedAtStart(t *testing.T) {
	testenv.Long(t)
	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := writeConfig(t, deskOpts{Dir: dir, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr()})
	path := filepath.Join(dir, "helpdesk.db")
	createStore(t, path)

	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	took := failStart(t, cfg, 30*time.Second, "database is locked by another process")
	if took > 20*time.Second {
		t.Errorf("gave up after %v; the busy timeout is 5s", took)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	d := newDaemon(t, cfg) // once the lock is released, it starts
	d.start()
	d.ready()
	d.stop()
}

// TestUnwritableDatabaseAtStart: the disk holding the database is full, or
// read-only, when the daemon starts: it exits non-zero at once with a
// message saying so. The disk is a tmpfs mounted for the test (root only).
func TestUnwritableDatabaseAtStart(t *testing.T) {
	testenv.Long(t)
	imapAddr := newMemIMAP(t)
	p := testenv.StartSMTP(t)
	cases := []struct {
		name    string
		prepare func(t *testing.T) (db string) // returns the database path
		wants   []string
	}{
		{"disk full, no database yet", func(t *testing.T) string {
			mnt := mountTmpfs(t, 0, "size=1m")
			fill(t, mnt)
			return filepath.Join(mnt, "helpdesk.db")
		}, []string{"disk full", "no space left on device"}},
		{"disk full, existing database", func(t *testing.T) string {
			mnt := mountTmpfs(t, 0, "size=1m")
			db := filepath.Join(mnt, "helpdesk.db")
			createStore(t, db)
			fill(t, mnt)
			return db
		}, []string{"disk full", "no space left on device"}},
		{"read-only file system, no database yet", func(t *testing.T) string {
			mnt := mountTmpfs(t, syscall.MS_RDONLY, "size=1m")
			return filepath.Join(mnt, "helpdesk.db")
		}, []string{"cannot write the database file", "read-only file system"}},
		{"read-only file system, existing database", func(t *testing.T) string {
			mnt := mountTmpfs(t, 0, "size=1m")
			db := filepath.Join(mnt, "helpdesk.db")
			createStore(t, db)
			if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=1m"); err != nil {
				t.Fatalf("remount read-only: %v", err)
			}
			return db
		}, []string{"cannot write the database file", "read-only file system", "attempt to write a readonly database"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := c.prepare(t)
			cfg := writeConfig(t, deskOpts{Dir: dir, DB: db, IMAP: imapAddr, IMAPUser: imapUser, SMTP: p.Addr()})
			failStart(t, cfg, 30*time.Second, c.wants...)
		})
	}
}
