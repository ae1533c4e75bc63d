package message

import (
	"strings"
	"time"

	gomessage "github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
)

// staleAfter is how long before our server received it a mail may be
// dated and still be answered automatically. A mail written more than a
// week before it arrived is a replayed, resent or spam mail (SpamAssassin's
// DATE_IN_PAST_96_XX starts at four days); its sender is not waiting for a
// receipt.
const staleAfter = 7 * 24 * time.Hour

// quietReason reports why a mail that is no automatic mail still asks for
// no automatic reply; "" when an acknowledgement is in order. Two kinds
// of mail are meant, each named by what it shows, never by its sender:
//   - mail dated long before our server received it (staleAfter);
//   - bulk mail: its text offers the reader a way to unsubscribe or opt
//     out, which commercial mass mail must (CAN-SPAM, the EU's ePrivacy
//     rules) and a person's request does not.
//
// The mail still becomes a ticket and the agents still see it; only the
// acknowledgement is withheld.
func quietReason(h *gomessage.Header, m *helpdesk.Message) string {
	if at, ok := topReceivedAt(h); ok && !m.Date.IsZero() && at.Sub(m.Date) > staleAfter {
		return "dated " + m.Date.UTC().Format("2006-01-02") + ", more than 7 days before our server received it (" + at.UTC().Format("2006-01-02") + ")"
	}
	if quietBulk(m.NewText) {
		return "bulk mail: it offers to unsubscribe its reader"
	}
	return ""
}

// topReceivedAt returns the date stamp of the topmost Received: field, the
// one our own server wrote when it took the mail (RFC 5321 §4.4: the date
// follows the last semicolon).
func topReceivedAt(h *gomessage.Header) (time.Time, bool) {
	v := h.Get("Received")
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return time.Time{}, false
	}
	return parseDate(strings.Join(strings.Fields(v[i+1:]), " "))
}

// quietOffers are the words with which bulk mail offers its reader a way
// out, lower case and with single spaces. Each is an offer addressed to
// the reader, not a request a customer would write ("please unsubscribe
// me", "I want to opt out" are none of them).
var quietOffers = []string{
	"click here to unsubscribe", "to unsubscribe, click", "to unsubscribe from this", "unsubscribe from this list",
	"you may opt-out", "you may opt out", "you can opt-out", "you can opt out", "you may unsubscribe", "you can unsubscribe",
	"no longer wish to receive", "no longer want to receive", "wish no longer to receive", "do not wish to receive",
	"manage your subscription", "update your email preferences", "manage your email preferences",
	"newsletter abbestellen", "vom newsletter abmelden", "se désabonner", "se désinscrire", "darse de baja",
	"cancelar la suscripción", "uitschrijven", "afmelden voor",
}

// quietBulk reports whether text offers the reader a way to unsubscribe:
// an offer from quietOffers within the same paragraph as a link, or a link
// whose own address unsubscribes.
func quietBulk(text string) bool {
	for para := range strings.SplitSeq(text, "\n\n") {
		// Only a paragraph with a link is lowered and searched: a long
		// mail costs a scan, not a copy.
		if !hasLinkFold(para) {
			continue
		}
		low := strings.ToLower(para)
		i := strings.Index(low, "<http")
		for _, link := range strings.Split(low[i:], "<http")[1:] {
			end := strings.IndexByte(link, '>')
			if end < 0 {
				end = len(link)
			}
			if strings.Contains(link[:end], "unsubscribe") || strings.Contains(link[:end], "optout") || strings.Contains(link[:end], "opt-out") {
				return true
			}
		}
		flat := strings.Join(strings.Fields(low), " ")
		for _, o := range quietOffers {
			if strings.Contains(flat, o) {
				return true
			}
		}
	}
	return false
}

// hasLinkFold reports whether s holds "<http" in any case.
func hasLinkFold(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0 && i+5 <= len(s); {
		if strings.EqualFold(s[i:i+5], "<http") {
			return true
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
