package trust_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/trust"
)

// The receiving setups of testdata/LAYOUTS.md, configured as their
// operators would.
var (
	gmail   = trust.Policy{AuthServIDs: []string{"mx.google.com"}, Hops: 2, Below: 1}
	m365    = trust.Policy{AuthServIDs: []string{""}, BoundaryHosts: []string{"*.mail.protection.outlook.com"}}
	rspamd  = trust.Policy{AuthServIDs: []string{"mail.lfdr.de"}, Hops: 2, Below: 1}    // Postfix + rspamd milter, Dovecot LMTP on top
	ozlabs  = trust.Policy{AuthServIDs: []string{"lists.ozlabs.org"}, Hops: 3}          // Postfix whose milters write above its boundary line
	kernel  = trust.Policy{AuthServIDs: []string{"mail.kernel.org"}, Hops: 2, Below: 3} // Postfix + OpenDKIM, OpenDMARC, SPF: three fields
	sourcew = trust.Policy{AuthServIDs: []string{"sourceware.org"}, Hops: 1, Below: 4}  // Postfix + OpenDMARC, SPF, OpenARC, OpenDKIM
	sourcw2 = trust.Policy{AuthServIDs: []string{"sourceware.org"}, Hops: 1, Below: 2}  // the same server, two milters then
)

func load(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func parse(t *testing.T, raw []byte) *helpdesk.Message {
	t.Helper()
	m, err := message.Parse(raw, message.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary lists the trusted results as "method=result:domain", sorted as found.
func summary(rs []helpdesk.AuthResult) string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		s := r.Method + "=" + r.Result
		if r.Domain != "" {
			s += ":" + r.Domain
		}
		if r.Policy != "" {
			s += "/p=" + r.Policy
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// TestRealLayouts: on each real header layout, the genuine results of the
// receiving server are trusted, nothing is taken for forged (no false
// alarm on earlier hops of the same provider), and a pass forged into the
// sender's own header block, just below the boundary, is not trusted and
// is flagged (where it names an authserv-id).
func TestRealLayouts(t *testing.T) {
	tests := []struct {
		file    string
		policy  trust.Policy
		trusted string // summary of the trusted results
	}{
		{"gmail-external-pass.eml", gmail, "dkim=neutral:mail.provable.dev dkim=pass:mail.provable.dev spf=pass:mail.provable.dev dmarc=pass:mail.provable.dev/p=reject"},
		{"gmail-external-dmarcfail.eml", gmail, "dkim=pass:ksdn.klaviyomail.com dkim=pass:sendgrid.info spf=pass:send.ksdn.klaviyomail.com dmarc=fail:gmail.com/p=none"},
		{"gmail-gmail-to-gmail.eml", gmail, "dkim=pass:gmail.com spf=pass:gmail.com dmarc=pass:gmail.com/p=none"},
		{"gmail-forwarded-arc3.eml", gmail, "dkim=neutral:mail.provable.dev dkim=pass:mail.provable.dev arc=pass spf=pass:gmail.com dmarc=pass:mail.provable.dev/p=reject dara=pass"},
		{"m365-outlookcom-external-dmarcfail.eml", m365, "spf=none:gjhjkhsjhcg.uk dkim=none:none dmarc=fail:news.lidl.de/p=quarantine compauth=fail"},
		{"m365-outlookcom-5hops-dmarcfail.eml", m365, "spf=softfail:icloud.com dkim=none:none dmarc=fail:icloud.com/p=quarantine compauth=fail"},
		{"m365-tenant-relay-xms-authres.eml", m365, "spf=pass:mycouchetard.onmicrosoft.com dkim=pass:mycouchetard.onmicrosoft.com dmarc=none:info.org/p=none compauth=fail"},
		{"m365-tenant-to-outlookcom-arc-dmarcfail.eml", m365, "spf=none:student.d211.org dkim=pass:studentd211.onmicrosoft.com dmarc=fail:student.d211.org/p=quarantine compauth=pass"},
		{"m365-business-tenant-intraorg-2021.eml", m365, "spf=pass:arm.com dkim=none:none dmarc=pass:arm.com/p=none compauth=pass"},
		{"rspamd-dovecot-pass.eml", rspamd, ""}, // filled below from the file
		{"rspamd-dovecot-dmarcfail.eml", rspamd, "dkim=none dmarc=fail:redfish-solutions.com/p=reject spf=pass:vger.kernel.org arc=pass"},
		{"rspamd-dovecot-no-own-ar.eml", rspamd, ""},
		{"postfix-opendkim-policyd-spf-above-boundary.eml", ozlabs, "spf=pass:linux.ibm.com dmarc=pass:linux.ibm.com/p=none dkim=pass:ibm.com dkim-atps=neutral"},
		{"postfix-opendkim-opendmarc-dmarcfail.eml", kernel, "dkim=pass:google.com dmarc=fail:google.com/p=reject spf=pass:kvack.org"},
		{"postfix-opendmarc-openarc-opendkim-pass.eml", sourcew, "dmarc=pass:arm.com/p=none spf=pass:arm.com arc=pass dkim=pass:arm.com"},
		{"postfix-opendmarc-pass.eml", sourcw2, "dmarc=pass:lesderid.net/p=quarantine spf=pass:lesderid.net"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := load(t, tt.file)
			m := parse(t, raw)
			v := tt.policy.Judge(m)
			if len(v.Forged) > 0 {
				t.Errorf("genuine mail taken for forged: %s", v.Suspicion())
			}
			got := summary(v.Trusted)
			if tt.file == "rspamd-dovecot-pass.eml" {
				if !strings.Contains(got, "=pass") {
					t.Errorf("trusted %q: no pass from our server", got)
				}
			} else if got != tt.trusted {
				t.Errorf("trusted\n  %s\nwant\n  %s", got, tt.trusted)
			}

			if tt.policy.Below > 0 && len(v.Trusted) == 0 {
				// A server configured to write its results below the
				// boundary wrote none on this mail (the layout of a time
				// before it did): then the first field there is the
				// sender's, and position cannot tell. Below needs a server
				// that writes its field on every mail (README, Security).
				return
			}
			// The attack: the sender writes a pass in our name into their own
			// header block, below the boundary.
			id := tt.policy.AuthServIDs[0]
			forged := "Authentication-Results: "
			if id != "" {
				forged += id + "; "
			}
			forged += "dkim=pass header.d=forged.example; spf=pass smtp.mailfrom=a@forged.example; dmarc=pass header.from=forged.example\r\n"
			fm := parse(t, insertBelowBoundary(t, raw, v.Boundary, forged))
			fv := tt.policy.Judge(fm)
			if _, ok := fv.Pass("forged.example"); ok {
				t.Fatalf("a pass forged below the boundary is trusted: %s", summary(fv.Trusted))
			}
			if id != "" && len(fv.Forged) == 0 {
				t.Errorf("a field forged in our name (%s) below the boundary is not flagged", id)
			}
			if id == "" && len(fv.Forged) != 0 {
				t.Errorf("an unnamed field below the boundary is flagged: %s", fv.Suspicion())
			}
			if summary(fv.Trusted) != got {
				t.Errorf("the forged field changed what is trusted: %s", summary(fv.Trusted))
			}
		})
	}
}

var receivedLine = regexp.MustCompile(`(?mi)^Received:`)

// insertBelowBoundary puts field into the sender's header block: just above
// the first Received: field below the boundary (the sender's own last
// hop), or at the end of the header when there is none. That is below
// every field our servers write.
func insertBelowBoundary(t *testing.T, raw []byte, boundary int, field string) []byte {
	t.Helper()
	s := string(raw)
	end := strings.Index(s, "\r\n\r\n")
	if end < 0 {
		end = strings.Index(s, "\n\n")
	}
	idx := receivedLine.FindAllStringIndex(s[:end], -1)
	at := end + 1
	if strings.HasPrefix(s[end:], "\r\n") {
		at = end + 2
	}
	if boundary+1 < len(idx) {
		at = idx[boundary+1][0]
	}
	return []byte(s[:at] + field + s[at:])
}

// TestPositionRule: the rule on small synthetic layouts, each a case of
// RFC 8601 §5/§7.1.
func TestPositionRule(t *testing.T) {
	const (
		lmtp     = "Received: from mx.ours.example by imap.ours.example (Dovecot) with LMTP id 1; Wed, 18 Nov 2026 10:00:00 +0000\n"
		boundary = "Received: from mail.sender.example (mail.sender.example [192.0.2.1]) by mx.ours.example (Postfix) with ESMTPS id 2; Wed, 18 Nov 2026 10:00:00 +0000\n"
		theirs   = "Received: by mail.sender.example (Postfix, from userid 1000) id 3; Wed, 18 Nov 2026 09:59:00 +0000\n"
		body     = "From: a@sender.example\nSubject: x\n\nx\n"
	)
	ar := func(id, res string) string {
		return "Authentication-Results: " + id + "; dkim=" + res + " header.d=sender.example\n"
	}
	above := trust.Policy{AuthServIDs: []string{"mx.ours.example"}, Hops: 2}
	below := trust.Policy{AuthServIDs: []string{"mx.ours.example"}, Hops: 2, Below: 1}
	byName := trust.Policy{AuthServIDs: []string{"mx.ours.example"}, BoundaryHosts: []string{"mx.ours.*"}, Below: 1}
	tests := []struct {
		name          string
		policy        trust.Policy
		header        string
		pass, flagged bool
	}{
		{"above: ours on top", above, lmtp + ar("mx.ours.example", "pass") + boundary + theirs, true, false},
		{"above: a forged pass below the boundary", above, lmtp + boundary + ar("mx.ours.example", "pass") + theirs, false, true},
		{"above: ours fail on top, forged pass below", above, lmtp + ar("mx.ours.example", "fail") + boundary + ar("mx.ours.example", "pass") + theirs, false, true},
		{"above: a stranger's authserv-id", above, lmtp + ar("mx.evil.example", "pass") + boundary + theirs, false, false},
		{"above: too few Received fields", above, boundary + ar("mx.ours.example", "pass"), false, true},
		{"above: a pass of an earlier hop further down", above, lmtp + boundary + theirs + ar("mx.ours.example", "pass"), false, false},
		{"below: ours just below", below, lmtp + boundary + ar("mx.ours.example", "pass") + theirs, true, false},
		{"below: ours fail, then a forged pass", below, lmtp + boundary + ar("mx.ours.example", "fail") + ar("mx.ours.example", "pass") + theirs, false, true},
		{"below: ours on top counts too", below, lmtp + ar("mx.ours.example", "pass") + boundary + theirs, true, false},
		{"by name: the boundary found by host", byName, lmtp + boundary + ar("mx.ours.example", "pass") + theirs, true, false},
		{"by name: no such host", byName, lmtp + theirs + ar("mx.ours.example", "pass"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse(t, []byte(strings.ReplaceAll(tt.header+body, "\n", "\r\n")))
			v := tt.policy.Judge(m)
			if _, ok := v.Pass("sender.example"); ok != tt.pass {
				t.Errorf("pass trusted = %v, want %v (trusted %s)", ok, tt.pass, summary(v.Trusted))
			}
			if got := len(v.Forged) > 0; got != tt.flagged {
				t.Errorf("flagged = %v, want %v (%s)", got, tt.flagged, v.Suspicion())
			}
			if tt.flagged && !strings.Contains(v.Suspicion(), "forged") {
				t.Errorf("suspicion %q does not say forged", v.Suspicion())
			}
		})
	}
}

// TestDMARCRejected: spam by DMARC only from a trusted result of a domain
// that asks for rejection or quarantine.
func TestDMARCRejected(t *testing.T) {
	for _, tt := range []struct {
		file   string
		policy trust.Policy
		want   bool
	}{
		{"gmail-external-dmarcfail.eml", gmail, false}, // p=none
		{"m365-outlookcom-external-dmarcfail.eml", m365, true},
		{"rspamd-dovecot-dmarcfail.eml", rspamd, true},
		{"postfix-opendkim-opendmarc-dmarcfail.eml", kernel, true},
		{"gmail-external-pass.eml", gmail, false},
	} {
		_, got := tt.policy.Judge(parse(t, load(t, tt.file))).DMARCRejected()
		if got != tt.want {
			t.Errorf("%s: DMARCRejected = %v, want %v", tt.file, got, tt.want)
		}
	}
}
