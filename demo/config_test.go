package demo

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/helpdeskd/helpdesk/config"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Config(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The example's policies, calendars and people are all there.
	for _, name := range []string{"prospectsoft", "prospectsoft-out-of-hours", "prosperex", "storeconnect", "claritum", "standard"} {
		if cfg.Policies[name] == nil {
			t.Errorf("policy %s missing", name)
		}
	}
	if got, want := len(cfg.Mailboxes), 5; got != want {
		t.Errorf("%d mailboxes, want %d", got, want)
	}
	if got, want := len(cfg.Agents), 9; got != want {
		t.Errorf("%d agents, want %d", got, want)
	}
	if plan, _ := cfg.Customer("ben@bigstore.example"); plan != "large" {
		t.Errorf("bigstore.example plan = %q, want large", plan)
	}
	if got, want := cfg.Store.Path, filepath.Join(dir, "helpdesk.db"); got != want {
		t.Errorf("store path = %q, want %q", got, want)
	}
	if got, want := cfg.SLA.Schedule, "@every 1s"; got != want {
		t.Errorf("schedule = %q, want %q", got, want)
	}
	if cfg.SMTP.Security != config.SecurityNone || cfg.SMTP.Username != "" || cfg.SMTP.Host != "127.0.0.1" {
		t.Errorf("smtp = %+v, want loopback without TLS or login", cfg.SMTP)
	}
	for _, mb := range cfg.Mailboxes {
		if mb.Host != "127.0.0.1" || mb.Security != config.SecurityNone || mb.Username != mb.Address || mb.Password.Value != Password {
			t.Errorf("mailbox %s = %s@%s %s, want the demo account on loopback", mb.Name, mb.Username, mb.Host, mb.Security)
		}
	}

	boxes := Boxes(cfg)
	if got, want := len(boxes), len(cfg.Mailboxes); got != want {
		t.Fatalf("%d boxes, want %d", got, want)
	}
	if got, want := boxes[0].Addresses, []string{"support@prospectsoft.example", "helpdesk@prospectsoft.example"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("box 0 addresses = %v, want %v", got, want)
	}
	s := startServers(t, Options{Boxes: boxes})
	if err := UseServers(cfg, s); err != nil {
		t.Fatal(err)
	}
	for _, mb := range cfg.Mailboxes {
		if got, want := mb.Host+":"+strconv.Itoa(mb.Port), s.IMAPAddr(); got != want {
			t.Errorf("mailbox %s at %s, want %s", mb.Name, got, want)
		}
	}
	if got, want := cfg.SMTP.Host+":"+strconv.Itoa(cfg.SMTP.Port), s.SMTPAddr(); got != want {
		t.Errorf("smtp at %s, want %s", got, want)
	}
}
