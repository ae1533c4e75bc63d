// Package testenv is the one test environment of helpdeskd's tests: the
// servers the daemon talks to (go-imap's in-memory IMAP server with an
// IDLE that flushes, and a go-smtp server that captures what the daemon
// sends), a configuration for them, polling, the shared real-mail corpus,
// golden-file diffs and the switch for the long tests.
//
// It is an ordinary package so that the tests of every package can share
// it, but only test code imports it. It imports config, so the tests of
// the packages config depends on (the root package, sla, trust,
// internal/suggest) and of config itself cannot use it.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// LongEnv is the environment variable that runs the long tests without
// the build tag: LongEnv=1 go test ./... runs them as -tags long does.
const LongEnv = "HELPDESK_LONG_TESTS"

// LongEnabled reports whether the long tests run: the tests were built
// with -tags long, or LongEnv is "1".
func LongEnabled() bool {
	return longTag || os.Getenv(LongEnv) == "1"
}

// Long marks t as a long test (one that builds and runs the daemon as a
// process, needs Dovecot, or moves tens of megabytes): it skips t, saying
// how to run it, unless LongEnabled. `go test ./...` leaves them out;
// `go test -tags long ./...` and .ci/run run them.
func Long(t testing.TB) {
	t.Helper()
	if !LongEnabled() {
		t.Skipf("long test: runs with go test -tags long (or %s=1), as .ci/run does", LongEnv)
	}
}

// WaitFor polls cond until it returns true, failing t once timeout has
// passed without it. what names the condition in the failure. The first
// polls follow each other closely, later ones 20ms apart.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	WaitForState(t, what, timeout, func() (bool, string) { return cond(), "" })
}

// WaitForState is WaitFor for a condition that also describes what it
// saw: the last description is part of the failure.
func WaitForState(t testing.TB, what string, timeout time.Duration, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, state)
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// CheckGoroutines fails t if, once the test and the cleanups registered
// after this call are done, more goroutines run than now and their number
// does not come down within grace; the failure lists every goroutine.
// Call it before starting what must not leak, so that its check runs after
// that is stopped.
func CheckGoroutines(t testing.TB, grace time.Duration) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(grace)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				var b strings.Builder
				pprof.Lookup("goroutine").WriteTo(&b, 1)
				t.Errorf("goroutine leak: %d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, b.String())
				return
			}
			// Waiting for goroutines to notice their closed connections.
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// CRLF gives a mail written with "\n" the CRLF line ends of the wire
// (RFC 5322 §2.1); CRLFs already there stay as they are.
func CRLF(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

var moduleRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
})

// ModuleRoot returns the directory of the module's go.mod, found from the
// working directory (a package's directory under go test).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}
