package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/message"
)

// Every seed is a well-formed mail to its vendor's support address, dated
// on the vendor's clock, with the start time filled in.
func TestSeedsBuild(t *testing.T) {
	cfg, err := Config(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for _, s := range Seeds() {
		o, err := s.Build(cfg, date)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		mb, _ := cfg.Mailbox(s.Mailbox)
		if got, want := strings.Join(o.To, ","), mb.Address; got != want {
			t.Errorf("%s: envelope to %s, want %s", s.Name, got, want)
		}
		if got, want := o.From, s.From.Address; got != want {
			t.Errorf("%s: envelope from %s, want %s", s.Name, got, want)
		}
		m, err := message.Parse(o.Raw, message.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: parse: %v", s.Name, err)
		}
		if got, want := m.Subject, s.Subject; got != want {
			t.Errorf("%s: subject %q, want %q", s.Name, got, want)
		}
		if got, want := m.From.Email, s.From.Address; got != want {
			t.Errorf("%s: From %q, want %q", s.Name, got, want)
		}
		if !m.Date.Equal(date) {
			t.Errorf("%s: Date %v, want %v", s.Name, m.Date, date)
		}
		if m.MessageID == "" || seen[m.MessageID] {
			t.Errorf("%s: Message-ID %q empty or repeated", s.Name, m.MessageID)
		}
		seen[m.MessageID] = true
		if strings.Contains(m.Text, "{start}") {
			t.Errorf("%s: {start} left in the text", s.Name)
		}
	}
	// The outage's start time is read on ProspectSoft's clock, 25 minutes
	// before the mail: 09:35 London on a winter Monday at 10:00 UTC.
	o, _ := Seeds()[0].Build(cfg, date)
	m, _ := message.Parse(o.Raw, message.ParseOptions{})
	if !strings.Contains(m.Text, "since 09:35") {
		t.Errorf("outage text lacks its start time:\n%s", m.Text)
	}
	if _, err := (Seed{Name: "x", Mailbox: "nowhere"}).Build(cfg, date); err == nil {
		t.Error("Build to an unknown mailbox succeeded")
	}
}
