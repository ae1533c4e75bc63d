package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// buildDaemon compiles this command into a temp dir, once per test binary.
var buildDaemon = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "helpdeskd-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "helpdeskd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// TestSIGTERMDuringIngest sends SIGTERM to the daemon process while 200
// mails are being ingested; after a restart every mail is exactly one
// ticket and every acknowledgement was sent exactly once.
func TestSIGTERMDuringIngest(t *testing.T) {
	testenv.Long(t)
	if testing.Short() {
		t.Skip("builds and runs the daemon binary")
	}
	bin, err := buildDaemon()
	if err != nil {
		t.Fatal(err)
	}
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "[desk]\nshutdown_timeout = \"10s\"\n")
	const n = 200
	for i := 0; i < n; i++ {
		imapSrv.Deliver(t, "INBOX", customerMail(fmt.Sprintf("c%d@customers.example", i), fmt.Sprintf("Report %d: export fails", i),
			fmt.Sprintf("sig-%d@customers.example", i), "", "The CSV export fails with Error 500 since this morning."))
	}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "run", "-config", cfg.File)
		cmd.Env = append(os.Environ(), testenv.IMAPPasswordEnv+"="+testenv.IMAPPassword)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	cmd, out := start()
	// Wait until ingest is under way, then ask it to stop.
	testenv.WaitFor(t, "the first acks", time.Minute, func() bool { return len(peer.Mails()) >= 10 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exited with %v after SIGTERM:\n%s", err, out)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("daemon did not stop within the shutdown timeout:\n%s", out)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", out)
	}
	before := len(peer.Mails())
	t.Logf("%d mails sent before SIGTERM", before)

	cmd, out = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	acks := func() map[string]int {
		got := map[string]int{}
		for _, m := range peer.Mails() {
			for _, r := range m.To {
				if strings.HasSuffix(r, "@customers.example") {
					got[r]++
				}
			}
		}
		return got
	}
	testenv.WaitFor(t, "an ack for every mail", time.Minute, func() bool { return len(acks()) == n })
	// Let the outbox drain whatever else is queued, then count.
	st, err := store.Open(context.Background(), cfg.Store.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testenv.WaitFor(t, "an empty outbox", time.Minute, func() bool {
		p, _, err := st.OutboxCounts(context.Background())
		return err == nil && p == 0
	})
	for addr, c := range acks() {
		if c != 1 {
			t.Errorf("%s got %d acks, want 1", addr, c)
		}
	}
	ids := map[string]int{}
	for _, m := range peer.Mails() {
		ids[m.Header.Get("Message-Id")]++
	}
	for id, c := range ids {
		if c > 1 {
			t.Errorf("Message-ID %s received %d times", id, c)
		}
	}
	var tickets int
	if err := st.View(context.Background(), func(tx *store.ReadTx) error {
		ts, err := tx.Tickets(store.TicketFilter{})
		tickets = len(ts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if tickets != n {
		t.Fatalf("%d tickets, want %d", tickets, n)
	}
}

// TestShutdownLeavesNoGoroutines runs the daemon in-process, stops it and
// checks that every goroutine it started has ended.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	testenv.CheckGoroutines(t, 5*time.Second) // after the daemon's Close, the servers still up
	m := &Main{Config: cfg, Log: startDaemonLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	imapSrv.Deliver(t, "INBOX", customerMail("leak@a.example", "Question", "leak-1@a.example", "", "How do I export?"))
	peer.Wait(t, "the ack", testenv.To("leak@a.example"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
