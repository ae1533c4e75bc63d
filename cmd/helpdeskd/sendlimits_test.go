package main

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// TestSendRateDaemon: the daemon with [smtp] rate = "2/h" and three new
// tickets whose mails all wait (the SMTP server is down until they are
// queued): of the acknowledgements and the agents' notifications the
// desk queued, the two that go are acknowledgements, the critical
// ticket's first; the rest waits in the queue, and
// helpdesk_outbox_throttled{limit="rate"} says so.
func TestSendRateDaemon(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	peer.Down()
	imapSrv.Deliver(t, "INBOX", customerMail("Ann <ann@retail.example>", "Question about invoices", "ann-1@retail.example", "",
		"Could you send me last month's invoice again? No hurry."))
	imapSrv.Deliver(t, "INBOX", customerMail("Bob <bob@retail.example>", "Production down: checkout fails for all users", "bob-1@retail.example", "",
		"Since 09:10 every checkout fails with error 500 for all users; the shop is down and we lose orders."))
	imapSrv.Deliver(t, "INBOX", customerMail("Cid <cid@retail.example>", "Report export slow", "cid-1@retail.example", "",
		"The CSV export of the monthly report takes ten minutes since Monday."))
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), "")
	cfg.SMTP.Rate = config.Rate{N: 2, Per: time.Hour}
	cfg.SMTP.Connections = 1 // one session: the order they go in is the order they arrive in
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	d := startDaemon(t, cfg, clock.Now)

	testenv.WaitFor(t, "three tickets", time.Minute, func() bool { return len(allTickets(t, d)) == 3 })
	testenv.WaitFor(t, "every queued mail tried once while the server is down", time.Minute, func() bool {
		n := 0
		err := d.Store.View(t.Context(), func(tx *store.ReadTx) error {
			for _, tk := range allTickets(t, d) {
				rows, err := tx.TicketOutbox(tk.ID)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if r.Attempts == 0 {
						n++
					}
				}
			}
			return nil
		})
		return err == nil && n == 0
	})
	// Every mail is due again after the outage's retries; the outbox
	// reads them all at once.
	peer.Up(t)
	clock.Set(clock.Now().Add(2 * time.Hour))
	d.Outbox.Kick()
	testenv.WaitFor(t, "two mails", time.Minute, func() bool { return len(peer.Mails()) == 2 })
	testenv.WaitFor(t, "the throttle metric", time.Minute, func() bool {
		_, metrics := get(t, d, "/metrics")
		return strings.Contains(metrics, `helpdesk_outbox_throttled{limit="rate"} 1`)
	})
	var bob *helpdesk.Ticket
	for _, tk := range allTickets(t, d) {
		if tk.Customer == "bob@retail.example" {
			bob = tk
		}
	}
	if bob == nil || bob.Priority != helpdesk.Critical {
		t.Fatalf("bob's ticket %+v, want critical", bob)
	}
	mails := peer.Mails()
	if got := mails[0].To; len(got) != 1 || got[0] != "bob@retail.example" || !strings.Contains(mails[0].Header.Get("Subject"), bob.Ref) {
		t.Errorf("first mail to %v (%s), want the critical ticket's ack to bob", got, mails[0].Header.Get("Subject"))
	}
	if to := mails[1].To; len(to) != 1 || !strings.HasSuffix(to[0], "@retail.example") {
		t.Errorf("second mail to %v, want another customer's ack before any agent's notification", to)
	}
	if n := len(peer.Mails()); n != 2 {
		t.Errorf("%d mails sent, want 2 within the hour", n)
	}
	pending, failed, err := d.Store.OutboxCounts(t.Context())
	if err != nil || pending == 0 || failed != 0 {
		t.Errorf("outbox %d pending, %d failed (%v); want the rest waiting", pending, failed, err)
	}
}
