package desk

import (
	"strings"
	"testing"
)

// An acknowledgement goes to a sender who may be forged: what it repeats
// of their mail is bounded.
func TestEchoName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Carol Shopper", "Carol Shopper"},
		{"  Jean-Luc   Picard ", "Jean-Luc Picard"},
		{"Dr. J. R. Smith", "Dr. J. R. Smith"},
		{"Zoë Ünal (Ops)", "Zoë Ünal (Ops)"},
		{"山田 太郎", "山田 太郎"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), ""},
		{"Win big http://spam.example/x", ""},
		{"Visit www.spam.example", ""},
		{"cheap pills at pills.example", ""},
		{"Bit.ly deals", ""},
		{"you@won.example", ""},
		{"<script>", ""},
		{"back\\slash", ""},
		{strings.Repeat("Click http://spam.example/win ", 70), ""},
	}
	for _, tt := range tests {
		if got := echoName(tt.in); got != tt.want {
			t.Errorf("echoName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("word ", 100)
	got := clip(long, maxEchoedSubject)
	if n := len([]rune(got)); n > maxEchoedSubject+1 || n < maxEchoedSubject*3/4 || !strings.HasSuffix(got, "…") {
		t.Errorf("clip of %d runes = %d runes %q", len(long), n, got)
	}
	if got := clip("short", 100); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
	if got := clip(strings.Repeat("ü", 300), 100); len([]rune(got)) != 101 {
		t.Errorf("clip cuts runes, not bytes: %d runes", len([]rune(got)))
	}
}

func TestMailboxOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"victim@x.example", "victim@x.example"},
		{"VICTIM@X.example", "victim@x.example"},
		{"victim+1@x.example", "victim@x.example"},
		{"Victim+a+b@x.example", "victim@x.example"},
		{"+tag@x.example", "+tag@x.example"},
		{"no-at-sign", "no-at-sign"},
	}
	for _, tt := range tests {
		if got := mailboxOf(tt.in); got != tt.want {
			t.Errorf("mailboxOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The desk strips subjects by the same rule triage reads them by, plus its
// own reference tags.
func TestCleanSubject(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Antw: Server down", "Server down"},
		{"Re: AW: Fwd: Server down", "Server down"},
		{"Re: Checkout is down [HD-1042]", "Checkout is down"},
		{"[HD-1042] Re:  Checkout   is down", "Checkout is down"},
		{"Re:", "(no subject)"},
		{"Out of office PCs cannot print", "Out of office PCs cannot print"},
	} {
		if got := cleanSubject(tt.in); got != tt.want {
			t.Errorf("cleanSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
