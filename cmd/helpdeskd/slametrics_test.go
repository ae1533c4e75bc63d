package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/store"
)

// TestSLAGaugesAtScrapeTime runs the daemon on a simulated clock and reads
// /metrics: every policy and level is exported at zero from the start; a
// critical ticket (response 1 h, the ladder warns at 50%) is at risk once
// half its response time is gone and breached, no longer at risk, once
// its deadline has passed, with no SLA tick in between: the gauges are
// read from the store at scrape time.
func TestSLAGaugesAtScrapeTime(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), slaPolicy)
	m := startDaemon(t, cfg, clock.Now)

	gauges := func(want ...string) {
		t.Helper()
		_, metrics := get(t, m, "/metrics")
		for _, w := range want {
			if !strings.Contains(metrics, w+"\n") {
				var got []string
				for _, l := range strings.Split(metrics, "\n") {
					if strings.HasPrefix(l, "helpdesk_open_tickets_") {
						got = append(got, l)
					}
				}
				t.Errorf("at %s /metrics lacks %q; it has:\n%s", clock.Now().Sub(t0), w, strings.Join(got, "\n"))
			}
		}
	}
	const (
		riskCritical   = `helpdesk_open_tickets_at_risk{policy="fast",priority="critical"} `
		breachCritical = `helpdesk_open_tickets_breached{policy="fast",priority="critical"} `
	)
	gauges(riskCritical+"0", breachCritical+"0",
		`helpdesk_open_tickets_at_risk{policy="fast",priority="low"} 0`,
		`helpdesk_open_tickets_breached{policy="fast",priority="change"} 0`)

	imapSrv.Deliver(t, "INBOX", customerMail("Gina <gina@shop.example>", "Store completely down", "gina-1@shop.example", "",
		"Our store is completely down for all customers since 08:55. Error: HTTP 500.\nSteps: open the home page."))
	ack := peer.Wait(t, "the ack", testenv.To("gina@shop.example"))
	tk, _ := ticketByRef(t, m, testenv.Ref(t, ack))
	if tk.Priority != "critical" || !tk.RiskAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("ticket %s: priority %s, at risk from %v; want critical from %v", tk.Ref, tk.Priority, tk.RiskAt, t0.Add(30*time.Minute))
	}
	clock.Set(t0.Add(29 * time.Minute))
	gauges(riskCritical+"0", breachCritical+"0")
	clock.Set(t0.Add(30 * time.Minute))
	gauges(riskCritical+"1", breachCritical+"0")
	clock.Set(t0.Add(time.Hour + time.Second))
	gauges(riskCritical+"0", breachCritical+"1")
}

// TestRiskWrittenAtCheck: a ticket stored without its risk instant (filed
// before migration 0009 gave it one) gets it at the SLA loop's next check
// of it, so the at-risk gauge heals without any change to the ticket.
func TestRiskWrittenAtCheck(t *testing.T) {
	ctx := context.Background()
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	m := startDaemon(t, testConfig(t, imapSrv.Addr(), peer.Addr(), slaPolicy), clock.Now)
	imapSrv.Deliver(t, "INBOX", customerMail("Gina <gina@shop.example>", "Store completely down", "gina-2@shop.example", "",
		"Our store is completely down for all customers since 08:55. Error: HTTP 500.\nSteps: open the home page."))
	ref := testenv.Ref(t, peer.Wait(t, "the ack", testenv.To("gina@shop.example")))
	if err := m.Store.Update(ctx, func(tx *store.Tx) error {
		tk, err := tx.TicketByRef(ref)
		if err != nil {
			return err
		}
		tk.RiskAt, tk.NextCheckAt = time.Time{}, t0.Add(time.Minute)
		return tx.UpdateTicket(tk)
	}); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(time.Minute))
	if err := m.Loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if tk, _ := ticketByRef(t, m, ref); !tk.RiskAt.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("after the check the ticket is at risk from %v, want %v", tk.RiskAt, t0.Add(30*time.Minute))
	}
}
