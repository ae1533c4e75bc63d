package mailbox

import (
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
				{AuthServID: "mx.google.com", Method: "dmarc", Result: "pass", Domain: "example.com"},
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
