package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
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
	testenv.WaitFor(t, "an empty outbox", time.Minute, func() bool {
		p, _, err := m.Store.OutboxCounts(context.Background())
		return err == nil && p == 0
	})
}

// TestSLAEscalationOnce runs a ticket through warning, breach and
// escalation, then an agent reply, on a simulated clock, and asserts that
// each escalation mail goes out once and only once, across a restart.
func TestSLAEscalationOnce(t *testing.T) {
	ctx := context.Background()
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), slaPolicy)

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
	imapSrv.Deliver(t, "INBOX", customerMail("Gina <gina@shop.example>", "Store completely down", "gina-1@shop.example", "",
		"Our store is completely down for all customers since 08:55. Error: HTTP 500.\nSteps: open the home page."))
	ack := peer.Wait(t, "the ack", testenv.To("gina@shop.example"))
	ref := testenv.Ref(t, ack)
	notice := peer.Wait(t, "alice's notification", testenv.And(testenv.To("alice@example.com"), testenv.Subject(ref)))
	// The subject is the ticket's, whatever the mail says: the body tells.
	body := func(s string) testenv.Match {
		return func(m testenv.Mail) bool { return strings.Contains(unfold(m.Body), s) }
	}
	warning := body(ref + " has used ")
	breached := body(" has been missed")
	response := body("response target")
	resolution := body("resolution target")

	// 50% of the 1 h response target: the team is warned.
	clock.Set(t0.Add(31 * time.Minute))
	if err := m.Loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	peer.Wait(t, "the warning to bob", testenv.And(testenv.To("bob@example.com"), warning))
	// Alice's warning sits in her thread of the ticket: the notification's
	// subject and topic, references starting at it, in reply to it.
	warn := peer.Wait(t, "the warning to alice", testenv.And(testenv.To("alice@example.com"), warning))
	for _, h := range []struct{ name, got, want string }{
		{"Subject", warn.Header.Get("Subject"), notice.Header.Get("Subject")},
		{"Thread-Topic", warn.Header.Get("Thread-Topic"), notice.Header.Get("Subject")},
		{"In-Reply-To", warn.Header.Get("In-Reply-To"), "<" + notice.MessageID() + ">"},
		{"References", warn.Header.Get("References"), "<" + notice.MessageID() + ">"},
		{"notification's Thread-Topic", notice.Header.Get("Thread-Topic"), "[" + ref + "] Store completely down"},
	} {
		if h.got != h.want {
			t.Errorf("%s = %q, want %q", h.name, h.got, h.want)
		}
	}
	// Outlook's conversation index: the notification's 22-byte header
	// (32 base64 characters with the padding, the first 28 of them 21 whole bytes), to which
	// the warning adds one 5-byte level.
	if ni, wi := notice.Header.Get("Thread-Index"), warn.Header.Get("Thread-Index"); len(ni) != 32 || len(wi) != 36 || ni[:28] != wi[:28] {
		t.Errorf("Thread-Index of the notification %q and of the warning %q: want one conversation", ni, wi)
	}
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
	peer.Wait(t, "the breach escalation to maria", testenv.And(testenv.To("maria@example.com"), breached, response))
	tk, evs := ticketByRef(t, m, ref)
	if !hasEvent(evs, "breach") {
		t.Errorf("no breach event: %+v", evs)
	}
	if tk.ResponseDue.IsZero() || !tk.ResponseDue.Equal(t0.Add(time.Hour)) {
		t.Errorf("response due = %v, want %v", tk.ResponseDue, t0.Add(time.Hour))
	}

	// The agent answers: the response clock stops; only resolution remains.
	imapSrv.Deliver(t, "INBOX", fmt.Sprintf("From: Alice <alice@example.com>\nTo: %s\nSubject: Re: x\nMessage-ID: <alice-sla@example.com>\nDate: Fri, 20 Nov 2026 10:05:00 +0000\n\nWe are on it.\n",
		testenv.Address(t, notice, "Reply-To")))
	peer.Wait(t, "the relay", testenv.And(testenv.To("gina@shop.example"), func(m testenv.Mail) bool { return strings.Contains(m.Body, "We are on it") }))
	clock.Set(t0.Add(4*time.Hour + time.Minute))
	for i := 0; i < 3; i++ {
		if err := m.Loop.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	peer.Wait(t, "the resolution breach to the COO", testenv.And(testenv.To("coo@example.com"), resolution))
	quiesce(t, m)

	for _, c := range []struct {
		name string
		f    testenv.Match
		want int
	}{
		{"response warnings to bob", testenv.And(testenv.To("bob@example.com"), warning, response), 1},
		{"response warnings to alice", testenv.And(testenv.To("alice@example.com"), warning, response), 1},
		{"response breaches to maria", testenv.And(testenv.To("maria@example.com"), breached, response), 1},
		{"resolution breaches to maria", testenv.And(testenv.To("maria@example.com"), breached, resolution), 1},
		{"resolution breaches to the COO", testenv.And(testenv.To("coo@example.com"), breached, resolution), 1},
		{"acks", testenv.To("gina@shop.example"), 2}, // the ack and the relayed reply
	} {
		if got := peer.Count(c.f); got != c.want {
			t.Errorf("%s: %d mails, want %d", c.name, got, c.want)
		}
	}
}
