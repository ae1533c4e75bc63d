package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/mailbox"
)

// get fetches a path of the daemon's HTTP listener.
func get(t *testing.T, m *Main, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + m.HTTPAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthTellsTheTruth runs the daemon with a second mailbox whose
// password file is wrong: /healthz answers 503 naming the mailbox and the
// server's refusal, every metric is exported at zero from the start, and
// once the file is fixed (no restart) the mailbox logs in, /healthz is 200
// with no stale error, and a mail's ingest time is observed.
func TestHealthTellsTheTruth(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{Folders: []string{"INBOX", "Sales"}})
	peer := testenv.StartSMTP(t)
	host, port, _ := net.SplitHostPort(imapSrv.Addr())
	pwFile := filepath.Join(t.TempDir(), "sales-imap")
	if err := os.WriteFile(pwFile, []byte("not-the-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, imapSrv.Addr(), peer.Addr(), fmt.Sprintf(`
[[mailbox]]
name = "sales"
address = "sales@example.com"
host = %q
port = %s
security = "none"
username = %q
password_file = %q
folder = "Sales"
poll_interval = "1s"
`, host, port, testenv.IMAPUser, pwFile))
	m := &Main{Config: cfg, Log: startDaemonLogger(t), IMAPBackoff: mailbox.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}}
	runMain(t, m)

	// Every series exists at zero before anything happened.
	_, metrics := get(t, m, "/metrics")
	for _, want := range []string{
		`helpdesk_mail_fetched_total{mailbox="sales"} 0`, `helpdesk_imap_errors_total{mailbox="support"} 0`,
		`helpdesk_tickets_opened_total{priority="critical"} 0`, `helpdesk_sla_breaches_total{priority="low"} 0`,
		`helpdesk_mail_sent_total{kind="ack"} 0`, `helpdesk_trust_events_total{kind="spam"} 0`,
		`helpdesk_panics_total{component="fetch"} 0`, `helpdesk_ingest_seconds_count 0`,
		`helpdesk_outbox_throttled{limit="provider_quota"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics at start lacks %s", want)
		}
	}

	type health struct {
		Status    string   `json:"status"`
		Problems  []string `json:"problems"`
		Mailboxes []struct {
			Name, State string
			LastError   string `json:"last_error"`
		} `json:"mailboxes"`
	}
	read := func() (int, health) {
		code, body := get(t, m, "/healthz")
		var h health
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("healthz %q: %v", body, err)
		}
		return code, h
	}
	testenv.WaitFor(t, "healthz 503 for the refused login", time.Minute, func() bool {
		code, h := read()
		return code == http.StatusServiceUnavailable && len(h.Problems) == 1 &&
			strings.Contains(h.Problems[0], "mailbox sales: authentication failed at "+imapSrv.Addr())
	})

	// Fixing the file is enough.
	if err := os.WriteFile(pwFile, []byte(testenv.IMAPPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "healthz 200 after the fix", time.Minute, func() bool {
		code, _ := read()
		return code == http.StatusOK
	})
	if _, h := read(); h.Status != "ok" || len(h.Problems) != 0 {
		t.Errorf("healthz after recovery: %+v", h)
	} else {
		for _, mb := range h.Mailboxes {
			if mb.LastError != "" {
				t.Errorf("mailbox %s still shows %q after recovery", mb.Name, mb.LastError)
			}
		}
	}

	imapSrv.Deliver(t, "Sales", customerMail("Gus <gus@shop.example>", "Checkout down", "gus-1@shop.example", "",
		"Our checkout has been down since 9:00 for every customer."))
	peer.Wait(t, "ack to gus", testenv.To("gus@shop.example"))
	testenv.WaitFor(t, "ingest time observed", time.Minute, func() bool {
		_, metrics := get(t, m, "/metrics")
		return strings.Contains(metrics, "helpdesk_ingest_seconds_count 1") &&
			strings.Contains(metrics, `helpdesk_mail_fetched_total{mailbox="sales"} 1`)
	})
}

// TestLogsReadWell: in JSON and in text, a duration reads as a duration
// (never nanoseconds), and an empty attribute is left out.
func TestLogsReadWell(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var b strings.Builder
		log := newLogger(&b, config.Log{Format: format, Level: slog.LevelInfo})
		log.Info("outage over", "mailbox", "support", "outage", 1500*time.Millisecond, "ticket", "", "err", nil)
		out := b.String()
		if !strings.Contains(out, "1.5s") || strings.Contains(out, "1500000000") {
			t.Errorf("%s: duration not readable: %s", format, out)
		}
		if strings.Contains(out, "ticket") || strings.Contains(out, "err") {
			t.Errorf("%s: empty attributes written: %s", format, out)
		}
	}
}

// TestCloseWithoutRunFreesListeners: a Main opened and closed without Run
// leaves no listener behind (the port can be bound again).
func TestCloseWithoutRunFreesListeners(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{})
	peer := testenv.StartSMTP(t)
	m := &Main{Config: testConfig(t, imapSrv.Addr(), peer.Addr(), ""), Log: startDaemonLogger(t)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := m.HTTPAddr
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the metrics listener %s is still bound after Close: %v", addr, err)
	}
	ln.Close()
}
