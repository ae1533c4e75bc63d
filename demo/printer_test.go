package demo

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
)

func TestRefIn(t *testing.T) {
	tests := []struct{ subject, want string }{
		{"[HD-1000] CRITICAL: down", "HD-1000"},
		{"Re: Checkout down [HD-1042]", "HD-1042"},
		{"[URGENT] [HD-7] x", "HD-7"},
		{"[HD-] x [A-1b]", ""},
		{"no reference", ""},
		{"[unclosed HD-1", ""},
	}
	for _, tt := range tests {
		if got := refIn(tt.subject); got != tt.want {
			t.Errorf("refIn(%q) = %q, want %q", tt.subject, got, tt.want)
		}
	}
}

func TestPrinter(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 3, 10, 0, 5, 0, time.UTC)
	ticket := &helpdesk.Ticket{Ref: "HD-1004", Subject: "Logo misaligned", Customer: "jade@x.example", Policy: "prosperex",
		Priority: helpdesk.Low, Claimed: helpdesk.Critical, Reasons: []string{`low: "cosmetic"`}}
	lookup := func(ref string) (*helpdesk.Ticket, error) {
		if ref == ticket.Ref {
			return ticket, nil
		}
		return nil, errors.New("not found")
	}
	var out bytes.Buffer
	p := NewPrinter(&out, london, func() time.Time { return at }, lookup)
	p.Event("HD-1004", helpdesk.Low, helpdesk.Event{At: at, Kind: "created", Detail: "priority low; x"})
	p.Event("HD-1005", helpdesk.High, helpdesk.Event{At: at, Kind: "created", Detail: "priority high; scope \"some users\""})
	p.Event("HD-1004", helpdesk.Low, helpdesk.Event{At: at, Kind: "ack", Detail: "acknowledgement to jade@x.example"})
	p.Event("HD-1004", helpdesk.Low, helpdesk.Event{At: at, Kind: "missing", Actor: "triage", Detail: "start_time, error_text"})
	p.Event("HD-1004", helpdesk.Low, helpdesk.Event{At: at, Kind: "note", Actor: "alice@h.example", Detail: "line one\nline two"})
	p.Enqueued(helpdesk.OutMail{MessageID: "n1@h.example", Kind: helpdesk.KindNotification, Subject: "[HD-1004] LOW: Logo"})
	p.Captured(Mail{To: []string{"alice@h.example"}, At: at, Header: mail.Header{"Message-Id": {"<n1@h.example>"}, "Subject": {"[HD-1004] LOW: Logo"}}})
	p.Captured(Mail{To: []string{"x@y.example"}, At: at, Header: mail.Header{"Subject": {"hello"}}})
	p.Delivered("support@p.example", Mail{From: "bounce@x.example", To: []string{"support@p.example"}, At: at,
		Header: mail.Header{"From": {"Jade <jade@x.example>"}, "Subject": {"Logo"}}})
	p.Printf("seed %d/%d", 1, 5)

	want := []string{
		`Mon 10:00:05  HD-1004  filed         low      "Logo misaligned" from jade@x.example, policy prosperex; claimed critical, not accepted; reasons: low: "cosmetic"`,
		`Mon 10:00:05  HD-1005  filed         high     scope "some users"`,
		`Mon 10:00:05  HD-1004  missing       start_time, error_text`,
		`Mon 10:00:05  HD-1004  note          alice@h.example: line one line two`,
		`Mon 10:00:05  HD-1004  mail notify   -> alice@h.example  "[HD-1004] LOW: Logo"`,
		`Mon 10:00:05           mail          -> x@y.example  "hello"`,
		`Mon 10:00:05           mail in       jade@x.example -> support@p.example  "Logo"`,
		`Mon 10:00:05                         seed 1/5`,
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}
