package message

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
)

func TestParseAuthResults(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []helpdesk.AuthResult
	}{
		{
			name: "gmail style",
			in:   "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=abc; spf=pass (google.com: domain of a@example.com designates 192.0.2.1 as permitted sender) smtp.mailfrom=a@example.com; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com",
			want: []helpdesk.AuthResult{
				{AuthServID: "mx.google.com", Method: "dkim", Result: "pass", Domain: "example.com"},
				{AuthServID: "mx.google.com", Method: "spf", Result: "pass", Domain: "example.com"},
				{AuthServID: "mx.google.com", Method: "dmarc", Result: "pass", Domain: "example.com", Policy: "reject"},
			},
		},
		{
			name: "RFC 8601 appendix B.4: version, header.d, comments",
			in:   "example.com 1; dkim=pass (good signature) header.d=Mail-Router.Example.NET; spf=fail smtp.mailfrom=EXAMPLE.org",
			want: []helpdesk.AuthResult{
				{AuthServID: "example.com", Method: "dkim", Result: "pass", Domain: "mail-router.example.net"},
				{AuthServID: "example.com", Method: "spf", Result: "fail", Domain: "example.org"},
			},
		},
		{
			name: "none",
			in:   "mx.example.org; none",
		},
		{
			name: "spaces around equals, method version, quoted value, reason",
			in:   `"mx.example.org"; dkim/1 = neutral reason="bad format" header.d = "ex.example"; arc=pass; iprev=pass policy.iprev=192.0.2.200`,
			want: []helpdesk.AuthResult{
				{AuthServID: "mx.example.org", Method: "dkim", Result: "neutral", Domain: "ex.example"},
				{AuthServID: "mx.example.org", Method: "arc", Result: "pass"},
				{AuthServID: "mx.example.org", Method: "iprev", Result: "pass"},
			},
		},
		{
			name: "spf falls back to helo",
			in:   "mx.example.org; spf=none smtp.helo=mail.sender.example",
			want: []helpdesk.AuthResult{{AuthServID: "mx.example.org", Method: "spf", Result: "none", Domain: "mail.sender.example"}},
		},
		{
			name: "Microsoft 365: no authserv-id, dmarc action",
			in:   "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.org; dkim=pass (signature was verified) header.d=example.org;dmarc=fail action=quarantine header.from=example.org;compauth=fail reason=000",
			want: []helpdesk.AuthResult{
				{Method: "spf", Result: "pass", Domain: "example.org"},
				{Method: "dkim", Result: "pass", Domain: "example.org"},
				{Method: "dmarc", Result: "fail", Domain: "example.org", Policy: "quarantine"},
				{Method: "compauth", Result: "fail"},
			},
		},
		{
			name: "Microsoft 365: policy reject overridden",
			in:   "spf=fail smtp.mailfrom=example.org; dmarc=fail action=oreject header.from=example.org",
			want: []helpdesk.AuthResult{
				{Method: "spf", Result: "fail", Domain: "example.org"},
				{Method: "dmarc", Result: "fail", Domain: "example.org", Policy: "reject"},
			},
		},
		{
			name: "OpenDMARC comment and RFC 7489 property",
			in:   "mx.example.net; dmarc=fail (p=quarantine dis=none) header.from=example.org; dmarc=fail policy.published-domain-policy=reject header.from=example.com",
			want: []helpdesk.AuthResult{
				{AuthServID: "mx.example.net", Method: "dmarc", Result: "fail", Domain: "example.org", Policy: "quarantine"},
				{AuthServID: "mx.example.net", Method: "dmarc", Result: "fail", Domain: "example.com", Policy: "reject"},
			},
		},
		{
			name: "rspamd policy.dmarc",
			in:   `mx.example.net; dkim=none; dmarc=fail reason="No valid SPF, No valid DKIM" header.from=example.org (policy=reject) policy.dmarc=reject; spf=fail (mx.example.net: domain of a@example.org does not designate 192.0.2.9 as permitted sender) smtp.mailfrom=a@example.org`,
			want: []helpdesk.AuthResult{
				{AuthServID: "mx.example.net", Method: "dkim", Result: "none"},
				{AuthServID: "mx.example.net", Method: "dmarc", Result: "fail", Domain: "example.org", Policy: "reject"},
				{AuthServID: "mx.example.net", Method: "spf", Result: "fail", Domain: "example.org"},
			},
		},
		{
			name: "rspamd's policy comment",
			in:   `mail.example.net; dkim=none; dmarc=fail reason="SPF not aligned (relaxed), No valid DKIM" header.from=example.org (policy=reject); spf=pass smtp.mailfrom=list.example`,
			want: []helpdesk.AuthResult{
				{AuthServID: "mail.example.net", Method: "dkim", Result: "none"},
				{AuthServID: "mail.example.net", Method: "dmarc", Result: "fail", Domain: "example.org", Policy: "reject"},
				{AuthServID: "mail.example.net", Method: "spf", Result: "pass", Domain: "list.example"},
			},
		},
		{
			name: "junk",
			in:   "(((;;;=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseAuthResults(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("parseAuthResults = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("result %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestTracePositions checks that every result carries the field it came
// from and how many Received: fields were above it, and that the "by"
// hosts of the Received: fields are read top first.
func TestTracePositions(t *testing.T) {
	raw := "Received: from mx.example.net by imap.example.net (Dovecot) with LMTP id 1; Fri, 20 Nov 2026 09:00:00 +0000\r\n" +
		"ARC-Authentication-Results: i=1; mx.example.net; dkim=pass header.d=example.com\r\n" +
		"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a@example.com\r\n" +
		"Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n\t(using TLSv1.3) by mx.example.net (Postfix) with ESMTPS id 4Z; Fri, 20 Nov 2026 09:00:00 +0000\r\n" +
		"Authentication-Results: mx.example.net; dkim=pass header.d=example.com\r\n" +
		"Received: (from user@localhost) ; Fri, 20 Nov 2026 08:59:00 +0000\r\n" +
		"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
	m, err := Parse([]byte(raw), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.Received, ","), "imap.example.net,mx.example.net,"; got != want {
		t.Errorf("Received = %q, want %q", got, want)
	}
	want := []helpdesk.AuthResult{
		{AuthServID: "mx.example.net", Method: "dkim", Result: "pass", Domain: "example.com", Header: "ARC-Authentication-Results", Field: 1, ReceivedAbove: 1},
		{AuthServID: "mx.example.net", Method: "spf", Result: "pass", Domain: "example.com", Header: "Authentication-Results", Field: 2, ReceivedAbove: 1},
		{AuthServID: "mx.example.net", Method: "dkim", Result: "pass", Domain: "example.com", Header: "Authentication-Results", Field: 4, ReceivedAbove: 2},
	}
	if len(m.AuthResults) != len(want) {
		t.Fatalf("AuthResults = %+v, want %+v", m.AuthResults, want)
	}
	for i := range want {
		if m.AuthResults[i] != want[i] {
			t.Errorf("AuthResults[%d] = %+v, want %+v", i, m.AuthResults[i], want[i])
		}
	}
}
