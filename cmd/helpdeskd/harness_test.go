package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// The test desk: one mailbox on testenv's in-process IMAP server, testenv's
// SMTP capture as the peer that receives everything the daemon sends, and
// the real daemon (Main) in-process on a temp SQLite file.

// testConfig is a configuration for the test servers: loopback, plaintext,
// the standard policy, the mailbox in team first-line with two agents and
// a manager (testenv.Team), /healthz and /metrics on a free port, and the
// TOML tables of extra.
func testConfig(t testing.TB, imapAddr, smtpAddr, extra string) *config.Config {
	t.Helper()
	return testenv.Config{IMAP: imapAddr, SMTP: smtpAddr, Mailbox: `team = "first-line"`, Agents: testenv.Team,
		HTTP: "127.0.0.1:0", Extra: extra}.Load(t)
}

// startDaemon opens and runs Main until the test ends.
func startDaemon(t testing.TB, cfg *config.Config, now func() time.Time) *Main {
	t.Helper()
	return runMain(t, &Main{Config: cfg, Now: now, Log: startDaemonLogger(t)})
}

// runMain opens and runs m until the test ends, for tests that set more
// of Main than startDaemon does (its logger, its backoff).
func runMain(t testing.TB, m *Main) *Main {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	})
	return m
}

// testWriter sends log output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startDaemonLogger logs warnings and errors of the daemon to the test log.
func startDaemonLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// logBuffer keeps the daemon's log for assertions and copies warnings
// and errors to the test log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	if s := string(p); strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
		l.t.Log(strings.TrimSpace(s))
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// line returns the first logged line containing s, or "".
func (l *logBuffer) line(s string) string {
	for ln := range strings.Lines(l.String()) {
		if strings.Contains(ln, s) {
			return strings.TrimSpace(ln)
		}
	}
	return ""
}
