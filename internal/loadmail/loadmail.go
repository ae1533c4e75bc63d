// Package loadmail writes the customer mail that benchmarks and the load
// tool feed the desk: four shapes of 5-20 KB, as support desks receive them
// (plain text with quoted history and a signature; text and HTML
// alternatives; the same with a 6 KB log attached; HTML only). Callers add
// their own header fields; this package writes the subject and the MIME body.
package loadmail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// Shapes is the number of mail shapes; shape n is n % Shapes.
const Shapes = 4

var subjects = []string{
	"Checkout is down for all users",
	"Reports export slow since this morning",
	"Payment failing with error PG-4001",
	"Login page shows a typo",
}

// Subject returns the subject of shape n.
func Subject(n int) string { return subjects[shape(n)] }

func shape(n int) int { return (n%Shapes + Shapes) % Shapes }

// Body returns "MIME-Version" and the content header fields, the blank line
// and the body of shape n, lines ending in CRLF (RFC 5322 §2.1). tag makes
// the multipart boundaries unique to the mail.
func Body(n int, tag string) []byte {
	variant := shape(n)
	var b bytes.Buffer
	b.WriteString("MIME-Version: 1.0\r\n")
	text := crlf(bodyText(variant))
	switch variant {
	case 0:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(text)
	case 1, 2:
		outer, alt := "mixed-"+tag, "alt-"+tag
		if variant == 2 {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\n", outer, outer)
		}
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", alt)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", alt, text)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n", alt, crlf(bodyHTML(bodyText(variant))))
		fmt.Fprintf(&b, "--%s--\r\n", alt)
		if variant == 2 {
			var log strings.Builder
			for i := range 80 {
				fmt.Fprintf(&log, "2026-03-11T11:%02d:%02dZ ERROR payment gateway PG-4001 timeout after 30000ms order=%d\n", 40+i/60, i%60, 900000+i)
			}
			enc := base64.StdEncoding.EncodeToString([]byte(log.String()))
			fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/plain; name=\"gateway.log\"\r\nContent-Disposition: attachment; filename=\"gateway.log\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", outer)
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			fmt.Fprintf(&b, "%s\r\n--%s--\r\n", enc, outer)
		}
	case 3:
		b.WriteString("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(crlf(bodyHTML(bodyText(variant))))
	}
	return b.Bytes()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// bodyText is the text of one shape: the new part, a signature and quoted
// history, which is what makes real customer mail 5-20 KB.
func bodyText(variant int) string {
	news := []string{
		"Hello,\n\nOur checkout is down for all users since 9:15 this morning. Every customer who tries to pay gets\n\"Error 503: upstream unavailable\" and no order goes through. We are losing sales every minute.\n\nSteps to reproduce:\n1. Open https://shop.example/cart with any product in it\n2. Click \"Pay now\"\n3. The page spins for 30 seconds and shows the 503 error\n\nPlease call me as soon as possible.\n",
		"Hi team,\n\nSince about 8:30 today the monthly reports export is very slow for some users: what took 20 seconds\nnow takes over 10 minutes. A workaround is to export one week at a time, which works.\nThe log shows \"query timeout after 600s (REPORT-17)\".\n\nTo reproduce: Reports > Monthly > Export CSV for February.\n",
		"Good morning,\n\nCard payments are failing for our customers since 11:40, with the gateway answering\nPG-4001 \"timeout after 30000ms\". Roughly one payment in three fails. I attach the gateway log.\n\nSteps:\n1. Add any item to the basket\n2. Pay with a Visa card\n3. About a third of the time the payment is declined with PG-4001\n",
		"Hello,\n\nJust a small thing: the login page says \"Pasword\" instead of \"Password\". Cosmetic only,\nno rush at all.\n",
	}
	var b strings.Builder
	b.WriteString(news[variant])
	b.WriteString("\nKind regards,\n--\nJane Doe\nOperations Manager, Shop Example Ltd\n+44 20 7946 0000 | https://shop.example\n\n")
	b.WriteString("On Tue, 10 Mar 2026 at 16:02, Example Support <support@example.com> wrote:\n")
	for i := range []int{60, 50, 25, 60}[variant] {
		fmt.Fprintf(&b, "> %d. Thank you for your message about order %d. We looked into the behaviour you describe and the\n", i, 700000+i)
	}
	return b.String()
}

// bodyHTML renders text as a webmail client would, quoted lines in a
// blockquote.
func bodyHTML(text string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;")
	var b strings.Builder
	b.WriteString("<html><head><meta charset=\"utf-8\"></head><body><div dir=\"ltr\">")
	quoted := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "> ") {
			if !quoted {
				b.WriteString("<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">")
				quoted = true
			}
			line = line[2:]
		}
		b.WriteString("<p>" + esc.Replace(line) + "</p>\n")
	}
	if quoted {
		b.WriteString("</blockquote>")
	}
	b.WriteString("</div></body></html>\n")
	return b.String()
}
