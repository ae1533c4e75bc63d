package main

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
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
