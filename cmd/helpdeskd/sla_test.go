package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
)

// fakeClock is the injected clock of the SLA integration test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

const slaPolicy = `
[sla]
default_policy = "fast"
[[policy]]
name = "fast"
calendar = "24x7"
[[policy.target]]
priority = "critical"
response = "1h"
resolution = "4h"
[[policy.target]]
priority = "high"
response = "4h"
[[policy.escalation]]
clock = "response"
at = "50%"
notify = ["team"]
[[policy.escalation]]
clock = "response"
at = "100%"
notify = ["managers"]
[[policy.escalation]]
clock = "resolution"
at = "100%"
notify = ["managers", "coo@example.com"]
`

// quiesce waits until the outbox has nothing pending.
func quiesce(t *testing.T, m *Main) {
	t.Helper()
	waitFor(t, "an empty outbox", func() bool {
		p, _, err := m.Store.OutboxCounts(context.Background())
		return err == nil && p == 0
	})
}

func countMails(peer *smtpCapture, f func(capturedMail) bool) int {
	n := 0
	for _, m := range peer.mails() {
		if f(m) {
			n++
		}
	}
	return n
}

// TestSLAEscalationOnce runs a ticket through warning, breach and
// escalation, then an agent reply, on a simulated clock, and asserts that
// each escalation mail goes out once and only once, across a restart.
func TestSLAEscalationOnce(t *testing.T) {
	ctx := context.Background()
	imapSrv := newIMAPServer(t)
	peer := newSMTPCapture(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	cfg := testConfig(t, imapSrv.addr, peer.addr, slaPolicy)

	run := func(cfg *config.Config) (*Main, func()) {
		m := &Main{Config: cfg, Now: clock.Now, Log: startDaemonLogger(t)}
		runCtx, cancel := context.WithCancel(ctx)
		if err := m.Open(runCtx); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Run(runCtx) }()
		return m, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			m.Close()
		}
	}
	m, stop := run(cfg)
	imapSrv.appendMail(t, customerMail("Gina <gina@shop.example>", "Store completely down", "gina-1@shop.example", "",
		"Our store is completely down for all customers since 08:55. Error: HTTP 500.\nSteps: open the home page."))
	ack := peer.wait(t, "the ack", to("gina@shop.example"))
	ref := refOf(t, ack)
	notice := peer.wait(t, "alice's notification", and(to("alice@example.com"), subjectHas(ref)))
	warning := func(m capturedMail) bool { return strings.Contains(m.header("Subject"), "SLA Warning") }
	breached := func(m capturedMail) bool { return strings.Contains(m.header("Subject"), "SLA Breached") }
	response := func(m capturedMail) bool { return strings.Contains(m.header("Subject"), "response target") }
	resolution := func(m capturedMail) bool { return strings.Contains(m.header("Subject"), "resolution target") }

	// 50% of the 1 h response target: the team is warned.
	clock.Set(t0.Add(31 * time.Minute))
	if err := m.Loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	peer.wait(t, "the warning to bob", and(to("bob@example.com"), warning))
	if err := m.Loop.Tick(ctx); err != nil { // a second tick at the same time sends nothing
		t.Fatal(err)
	}
	quiesce(t, m)

	// Restart the daemon: the catch-up tick must not send the step again.
	stop()
	m, stop = run(cfg)
	defer func() { stop() }()
	if err := m.Loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	quiesce(t, m)

	// Past the deadline: the breach is recorded and the managers are mailed.
	clock.Set(t0.Add(61 * time.Minute))
	if err := m.Loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	peer.wait(t, "the breach escalation to maria", and(to("maria@example.com"), breached, response))
	tk, evs := ticketByRef(t, m, ref)
	if !hasEvent(evs, "breach") {
		t.Errorf("no breach event: %+v", evs)
	}
	if tk.ResponseDue.IsZero() || !tk.ResponseDue.Equal(t0.Add(time.Hour)) {
		t.Errorf("response due = %v, want %v", tk.ResponseDue, t0.Add(time.Hour))
	}

	// The agent answers: the response clock stops; only resolution remains.
	imapSrv.appendMail(t, fmt.Sprintf("From: Alice <alice@example.com>\nTo: %s\nSubject: Re: x\nMessage-ID: <alice-sla@example.com>\nDate: Fri, 20 Nov 2026 10:05:00 +0000\n\nWe are on it.\n",
		replyTo(t, notice)))
	peer.wait(t, "the relay", and(to("gina@shop.example"), func(m capturedMail) bool { return strings.Contains(m.Body, "We are on it") }))
	clock.Set(t0.Add(4*time.Hour + time.Minute))
	for i := 0; i < 3; i++ {
		if err := m.Loop.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	peer.wait(t, "the resolution breach to the COO", and(to("coo@example.com"), resolution))
	quiesce(t, m)

	for _, c := range []struct {
		name string
		f    func(capturedMail) bool
		want int
	}{
		{"response warnings to bob", and(to("bob@example.com"), warning, response), 1},
		{"response warnings to alice", and(to("alice@example.com"), warning, response), 1},
		{"response breaches to maria", and(to("maria@example.com"), breached, response), 1},
		{"resolution breaches to maria", and(to("maria@example.com"), breached, resolution), 1},
		{"resolution breaches to the COO", and(to("coo@example.com"), breached, resolution), 1},
		{"acks", to("gina@shop.example"), 2}, // the ack and the relayed reply
	} {
		if got := countMails(peer, c.f); got != c.want {
			t.Errorf("%s: %d mails, want %d", c.name, got, c.want)
		}
	}
}
