package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/runlock"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// TestSecondDaemonRefused: a second daemon on the same database refuses to
// start, naming the database and the running one, instead of sending every
// queued mail a second time; once the first closes, another may start.
func TestSecondDaemonRefused(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	first := &Main{Config: cfg, Log: startDaemonLogger(t)}
	if err := first.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := &Main{Config: cfg, Log: startDaemonLogger(t)}
	err := second.Open(context.Background())
	if !errors.Is(err, runlock.ErrHeld) {
		second.Close()
		first.Close()
		t.Fatalf("second Open on the same database: %v, want the run lock refused", err)
	}
	if msg := err.Error(); !strings.Contains(msg, cfg.Store.Path) || !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error %q does not name the database and the running daemon", msg)
	}
	if second.Store != nil {
		t.Error("the refused daemon opened the store")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := &Main{Config: cfg, Log: startDaemonLogger(t)}
	if err := third.Open(context.Background()); err != nil {
		t.Fatalf("Open after the first daemon closed: %v", err)
	}
	third.Close()
}
