package message

import (
	"strings"
	"testing"
)

// TestQuietReason shows which mails of a person get no acknowledgement
// although nothing marks them automatic, and which still get one.
func TestQuietReason(t *testing.T) {
	const received = "Received: from mx.sender.example by mx.example.com with ESMTPS; Fri, 11 Dec 2026 10:00:00 +0000\r\n"
	mail := func(header, body string) []byte {
		return []byte(header + "From: Ann <ann@shop.example>\r\nTo: support@example.com\r\nSubject: Checkout\r\nMessage-ID: <q1@shop.example>\r\n\r\n" + body)
	}
	cases := []struct {
		name, header, body string
		want               string // a word of the reason; "" for none
	}{
		{"fresh", received + "Date: Fri, 11 Dec 2026 09:58:00 +0000\r\n", "Checkout fails since 9:00.\r\n", ""},
		{"six days late (a laptop that was offline)", received + "Date: Sat, 05 Dec 2026 10:30:00 +0000\r\n", "Checkout fails.\r\n", ""},
		{"dated long before it arrived", received + "Date: Fri, 2 Jan 2004 11:43:19 -0330\r\n", "7181B 4\r\n", "dated 2004-01-02"},
		{"old date but no Received to compare with", "Date: Fri, 2 Jan 2004 11:43:19 -0330\r\n", "Checkout fails.\r\n", ""},
		{"dated in the future: a wrong clock, answered", received + "Date: Fri, 18 Dec 2026 10:00:00 +0000\r\n", "Checkout fails.\r\n", ""},
		{"newsletter footer link", received, "Our December offers.\r\n\r\nUnsubscribe <https://news.example/unsubscribe?u=1>\r\n", "bulk"},
		{"opt-out offer", received, "Great deals inside.\r\n\r\nIf you wish no longer to receive our offers you may opt-out following this link <https://x.example/l?a=1>\r\n", "bulk"},
		{"a shouted footer link", received, "OFFERS.\r\n\r\nUNSUBSCRIBE <HTTPS://NEWS.EXAMPLE/UNSUBSCRIBE?U=1>\r\n", "bulk"},
		{"German footer", received, "Angebote.\r\n\r\nNewsletter abbestellen: <https://x.example/n?a=1>\r\n", "bulk"},
		{"offer without a link is no offer", received, "If you no longer wish to receive our mails, tell us.\r\n", ""},
		{"a customer asking to be taken off a list", received, "Please unsubscribe me, I want to opt out of all mails. <https://shop.example/account>\r\n", ""},
		{"a customer who tried to unsubscribe", received, "I tried to unsubscribe but the page says error 500.\r\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(mail(c.header, c.body), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" && m.Quiet != "" || c.want != "" && !strings.Contains(m.Quiet, c.want) {
				t.Errorf("Quiet = %q, want %q", m.Quiet, c.want)
			}
		})
	}
}
