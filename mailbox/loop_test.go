package mailbox

import "testing"

func TestLoopSignals(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		reason   string
		suppress bool
	}{
		{"person", "From: a@example.com\n", "", false},
		{"auto-submitted no", "From: a@example.com\nAuto-Submitted: no\n", "", false},
		{"auto-replied", "From: a@example.com\nAuto-Submitted: auto-replied\n", "Auto-Submitted: auto-replied", false},
		{"auto-generated with comment", "From: a@example.com\nAuto-Submitted: Auto-Generated; owner-email=x@y\n", "Auto-Submitted: auto-generated", false},
		{"precedence bulk", "From: a@example.com\nPrecedence: Bulk\n", "Precedence: bulk", false},
		{"precedence junk", "From: a@example.com\nPrecedence: junk\n", "Precedence: junk", false},
		{"precedence first-class", "From: a@example.com\nPrecedence: first-class\n", "", false},
		{"list-id", "From: a@example.com\nList-Id: <x.example.org>\n", "List-Id present", false},
		{"list-unsubscribe", "From: a@example.com\nList-Unsubscribe: <mailto:u@example.org>\n", "List-Unsubscribe present", false},
		{"null return path", "Return-Path: <>\nFrom: a@example.com\n", "null return path", false},
		{"mailer-daemon", "From: MAILER-DAEMON@example.com\n", "delivery status notification", false}, // taken for a bounce
		{"postmaster", "From: Postmaster <postmaster@example.com>\n", "sender postmaster", false},
		{"noreply", "From: Shop <no-reply@shop.example>\n", "sender no-reply", false},
		{"noreply plus", "From: noreply+abc@shop.example\n", "sender noreply", false},
		{"x-autoreply", "From: a@example.com\nX-Autoreply: yes\n", "X-Autoreply present", false},
		{"x-autorespond", "From: a@example.com\nX-Autorespond: yes\n", "X-Autorespond present", false},
		{"x-loop", "From: a@example.com\nX-Loop: MAILER-DAEMON@yahoo.com\n", "X-Loop present", false},
		{"x-precedence auto_reply", "From: a@example.com\nX-Precedence: auto_reply\n", "X-Precedence: auto_reply", false},
		{"suppress all", "From: a@example.com\nX-Auto-Response-Suppress: All\n", "", true},
		{"suppress oof", "From: a@example.com\nX-Auto-Response-Suppress: DR, OOF\n", "", true},
		{"suppress none", "From: a@example.com\nX-Auto-Response-Suppress: None\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.header+"Subject: s\n\nbody\n"), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.AutoReason, tt.reason; got != want {
				t.Errorf("AutoReason = %q, want %q", got, want)
			}
			if got, want := m.Suppress, tt.suppress; got != want {
				t.Errorf("Suppress = %v, want %v", got, want)
			}
		})
	}
}
