package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	m := NewMetrics(func(context.Context) (int, int, error) { return 3, 1, nil })
	var pingErr error
	unrecorded := 0
	h := Handler(m, Health{
		Unrecorded: func() int { return unrecorded },
		Ping:       func(context.Context) error { return pingErr },
		Mailboxes:  func() []MailboxState { return []MailboxState{{Name: "support", State: "idle"}} },
		Outbox:     func(context.Context) (int, int, error) { return 3, 1, nil },
	}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	if code != 200 {
		t.Fatalf("healthz = %d, want 200: %s", code, body)
	}
	var got struct {
		Status    string         `json:"status"`
		Mailboxes []MailboxState `json:"mailboxes"`
		Outbox    map[string]int `json:"outbox"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "ok" || len(got.Mailboxes) != 1 || got.Mailboxes[0].State != "idle" || got.Outbox["pending"] != 3 {
		t.Fatalf("healthz body = %+v", got)
	}
	unrecorded = 2
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"unrecorded":2`) ||
		!strings.Contains(body, "cannot record 2 mails") {
		t.Fatalf("healthz with sent mail the store could not record = %d %s, want 503 saying so", code, body)
	}
	unrecorded = 0
	pingErr = errors.New("disk I/O error")
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "disk I/O error") {
		t.Fatalf("healthz with an unwritable store = %d %s, want 503", code, body)
	}

	m.TicketsOpened.WithLabelValues("critical").Inc()
	m.IngestLatency.Observe(0.02)
	_, metrics := get("/metrics")
	for _, want := range []string{
		`helpdesk_tickets_opened_total{priority="critical"} 1`,
		"helpdesk_outbox_pending 3",
		"helpdesk_outbox_failed 1",
		"helpdesk_ingest_seconds_bucket",
		"helpdesk_ack_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestWatchSLA: the gauges give what the count reads at scrape time, the
// preset pairs it does not name at zero, and a count that fails makes the
// scrape fail rather than report zero.
func TestWatchSLA(t *testing.T) {
	m := NewMetrics(nil)
	var counts []SLACount
	var countErr error
	m.WatchSLA(func(context.Context) ([]SLACount, error) { return counts, countErr },
		[]SLACount{{Policy: "gold", Priority: "critical"}, {Policy: "gold", Priority: "low"}})
	srv := httptest.NewServer(Handler(m, Health{Ping: func(context.Context) error { return nil }}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	scrape := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	counts = []SLACount{{Policy: "gold", Priority: "critical", AtRisk: 3, Breached: 2}, {Policy: "renamed", Priority: "high", Breached: 1}}
	_, body := scrape()
	for _, want := range []string{
		`helpdesk_open_tickets_at_risk{policy="gold",priority="critical"} 3`,
		`helpdesk_open_tickets_breached{policy="gold",priority="critical"} 2`,
		`helpdesk_open_tickets_at_risk{policy="gold",priority="low"} 0`,
		`helpdesk_open_tickets_breached{policy="gold",priority="low"} 0`,
		`helpdesk_open_tickets_breached{policy="renamed",priority="high"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	countErr = errors.New("database is locked")
	if code, body := scrape(); code != http.StatusInternalServerError || !strings.Contains(body, "database is locked") {
		t.Errorf("scrape with a failing count = %d %s, want 500 naming the error", code, body)
	}
}

// TestHealthzLogsOncePerChange: a monitor polling /healthz while the store
// cannot write gets 503 every time, but the log says so once, and once
// again when the store writes again.
func TestHealthzLogsOncePerChange(t *testing.T) {
	var logs strings.Builder
	pingErr := errors.New("disk full: commit: database or disk is full (13)")
	h := Handler(NewMetrics(nil), Health{Ping: func(context.Context) error { return pingErr }},
		slog.New(slog.NewTextHandler(&logs, nil)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for range 5 {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("healthz = %d, want 503", resp.StatusCode)
		}
	}
	pingErr = nil
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := strings.Count(logs.String(), "store not writable"); n != 1 {
		t.Errorf("store error logged %d times over 5 requests, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "store writable again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// TestHealthzSentCopies: Sent copies that cannot be appended are said on
// /healthz and in the metrics, and never make it 503.
func TestHealthzSentCopies(t *testing.T) {
	m := NewMetrics(nil)
	m.Preset(Labels{SentCopies: []string{"support", "sales"}})
	m.WatchSentCopies(func(context.Context) (map[string]int, error) { return map[string]int{"support": 4}, nil }, []string{"support", "sales"})
	h := Handler(m, Health{
		Ping: func(context.Context) error { return nil },
		SentCopies: func(context.Context) []SentCopyState {
			return []SentCopyState{{Mailbox: "support", Folder: "Sent", Pending: 4, LastError: "dial 127.0.0.1:143: connection refused"},
				{Mailbox: "sales", Folder: "Sent"}}
		},
	}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for path, wants := range map[string][]string{
		"/healthz": {`"status":"ok"`, `"sent_copies":[{"mailbox":"support","folder":"Sent","pending":4`,
			`"warnings":["mailbox support: 4 Sent copies wait: dial 127.0.0.1:143: connection refused"]`},
		"/metrics": {`helpdesk_sent_copies_pending{mailbox="support"} 4`, `helpdesk_sent_copies_pending{mailbox="sales"} 0`,
			`helpdesk_sent_copies_total{mailbox="sales",outcome="appended"} 0`, `helpdesk_sent_copy_errors_total{mailbox="support"} 0`},
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s = %d, want 200: %s", path, resp.StatusCode, b)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %s:\n%s", path, want, b)
			}
		}
	}
}
