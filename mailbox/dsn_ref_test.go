package mailbox

// This file is the bounce test of finishReport as it was before the
// signs of machine origin were moved ahead of the bounce wording and its
// regexps got written-out equivalents, kept verbatim with its names
// prefixed "ref" as the reference the tests of dsn_equiv_test.go hold the
// new code to. Do not change it to follow dsn.go.
//
// When the behaviour is meant to change (a rule tuned, a case fixed),
// delete this reference and the equivalence tests and fuzz target that use
// it (and their line in .ci/fuzz) rather than editing both: they exist to
// show that the speed-ups of 2026-11-22 changed no result.

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
)

// refDsnStatusRe matches an RFC 3463 enhanced status code.
var refDsnStatusRe = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// refDsnBounceSubjectRe matches the subjects MTAs give their bounces.
var refDsnBounceSubjectRe = regexp.MustCompile(`(?i)undeliver|undelivered|non-?deliver|delivery (status notification|failure|failed|notification|report|problem|error|has failed|warning)|returned mail|returned to sender|failure notice|mail delivery (failed|failure|system|problem)|could not be delivered|not delivered|mail system error|delivery error|could not send message|permanent error|delivery final failure|failed mail|mail failed|mail failure|user unknown|non remis|nicht zustellbar|unzustellbar|no entregado|non recapitabile|не доставлено|bounced`)

// refDsnDaemonNameRe matches the display names of bounce senders.
var refDsnDaemonNameRe = regexp.MustCompile(`(?i)mail delivery|mailer.?daemon|postmaster|mail system|delivery subsystem|mail administrator|system administrator|antivirus|mail service|mdaemon`)

// refDsnLooksLikeBounce tells a non-standard bounce from other mail. Mail from
// MAILER-DAEMON is one (the conventional sender of MTA notifications since
// sendmail). Other
// mail must say so in its subject or text (bounce wording) and carry a
// sign of machine origin: a daemon-like sender, the null return path,
// Auto-Submitted, a returned message part, or SMTP reply or status codes
// in the text. A customer's "Delivery failed: the parcel could not be
// delivered" stays a customer's mail.
func refDsnLooksLikeBounce(h *message.Header, m *helpdesk.Message, returned bool) bool {
	if h.Has("X-Failed-Recipients") {
		return true
	}
	local := refLoopLocalPart(m.From.Email)
	switch local {
	case "mailer-daemon", "mail-daemon", "mailerdaemon", "mdaemon":
		return true
	}
	// The explanation of a bounce comes first; looking at the head of the
	// text keeps a long customer mail cheap.
	head := m.Text
	if len(head) > 4096 {
		head = head[:4096]
	}
	// The wording first (substring tests), then the signs of machine
	// origin, the SMTP codes last: an ordinary mail costs a few substring
	// searches.
	if !refDsnBounceSubjectRe.MatchString(m.Subject) && !refDsnHasBounceWording(strings.ToLower(head)) {
		return false
	}
	daemon := strings.HasPrefix(local, "postmaster") || refDsnDaemonNameRe.MatchString(m.From.Name) ||
		refDsnDaemonNameRe.MatchString(local) || (m.From.Email == "" && refDsnDaemonNameRe.MatchString(h.Get("From")))
	auto := m.ReturnPath == "<>" || (h.Get("Auto-Submitted") != "" && !strings.EqualFold(strings.TrimSpace(h.Get("Auto-Submitted")), "no"))
	return daemon || auto || returned || strings.Contains(head, "Received: from") ||
		refDsnStatusRe.MatchString(head) || refDsnSMTPCodeRe.MatchString(head)
}

// refDsnBodyPhrases are the sentences of a bounce's explanation, lower case.
// They are plain substrings: a regexp alternation of this size costs a
// millisecond on every ordinary mail that mentions an error code.
var refDsnBodyPhrases = []string{
	"could not be delivered", "couldn't be delivered", "was not delivered", "wasn't able to deliver",
	"unable to deliver", "undeliverable", "delivery failed", "delivery has failed",
	"delivery to the following recipient", "did not reach", "permanent error", "permanent failure",
	"permanently", "permanent fatal", "fatal error", "fatal delivery error", "user unknown", "unknown user",
	"no such user", "there is no user", "user not found", "mailbox unavailable", "mailbox full",
	"mailbox not found", "mailbox is unavailable", "address failed", "addresses failed", "address(es) failed",
	"failed addresses", "delivery status notification", "failed recipient", "not be delivered",
	"returned to sender", "not yet been delivered", "delayed", "could not deliver",
	"has been returned because", "delivery of email to this address", "has been postponed",
	"message was not accepted", "invalid mailbox", "не может быть доставлено",
}

// refDsnHasBounceWording reports whether lower-cased text reads like a bounce.
func refDsnHasBounceWording(lower string) bool {
	for _, p := range refDsnBodyPhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

var refDsnSMTPCodeRe = regexp.MustCompile(`\b[45]\d\d[ -][0-9A-Za-z<]`)

// refLoopLocalPart returns the lower-cased local part of an address, without
// any "+detail".
func refLoopLocalPart(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return ""
	}
	local := strings.ToLower(addr[:at])
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local
}
