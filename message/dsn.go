package message

import (
	"regexp"
	"strings"

	gomessage "github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// dsnCollector gathers the parts of a delivery report during the walk.
type dsnCollector struct {
	isReport  bool     // multipart/report; report-type=delivery-status (RFC 6522)
	statuses  []string // message/delivery-status bodies (RFC 3464 §2)
	originals []string // returned message or its headers (RFC 3464 §2, third part)
}

func (c *dsnCollector) addStatus(s string) {
	if len(c.statuses) < 8 {
		c.statuses = append(c.statuses, s)
	}
}

func (c *dsnCollector) addOriginal(s string) {
	if len(c.originals) < 4 {
		c.originals = append(c.originals, s)
	}
}

// finishReport sets Message.Bounce for a delivery status notification:
// a standard RFC 3464 report, or a non-standard bounce recognised by its
// sender or subject and read with text heuristics.
func (p *parser) finishReport(h *gomessage.Header, body []byte) {
	c := &p.report
	m := p.msg
	standard := c.isReport || len(c.statuses) > 0
	if !standard && !dsnLooksLikeBounce(h, m, p.returned) {
		return
	}
	rep := &helpdesk.DeliveryReport{}
	if standard {
		dsnFromStatus(rep, c.statuses)
	}
	if len(rep.Recipients) == 0 {
		text := dsnReportText(m.Text)
		rcpts, temporary := dsnScanText(text, dsnExcluded(m))
		if len(rcpts) == 0 {
			rcpts = dsnBareLocals(text, m.From.Email)
		}
		for _, v := range hdrValues(h, "X-Failed-Recipients") {
			for _, a := range addrParseList(v) {
				rcpts = parseAppendUnique(rcpts, a.Email)
			}
		}
		rep.Recipients = rcpts
		if rep.Action == "" {
			rep.Action = "failed"
			if temporary {
				rep.Action = "delayed"
			}
		}
		if rep.Status == "" {
			if s := dsnStatusRe.FindString(text); s != "" {
				rep.Status = s
			}
		}
		if rep.Diagnostic == "" {
			rep.Diagnostic = dsnDiagnostic(text)
		}
	}
	rep.OriginalMessageID = dsnOriginalID(c.originals, body, m.MessageID)
	m.Bounce = rep
}

// dsnFromStatus reads message/delivery-status bodies (RFC 3464 §2.2-2.3):
// one block of per-message fields, then one block per recipient, blocks
// separated by empty lines. Failed recipients are listed; when none
// failed, the delayed ones are, with Action "delayed".
func dsnFromStatus(rep *helpdesk.DeliveryReport, statuses []string) {
	type rcpt struct{ addr, action, status, diag string }
	var all []rcpt
	for _, s := range statuses {
		rest := []byte(s)
		for n := 0; len(rest) > 0 && n < 1000; n++ {
			h, next, nf, _ := parseHeaderBlock(rest)
			if nf == 0 && len(next) >= len(rest) {
				break
			}
			rest = next
			// RFC 3464 §2.3.1: Original-Recipient is the address as the
			// sender gave it, which is the one we can match to a ticket;
			// Final-Recipient may be a forwarding target.
			addr := dsnAddrField(h.Get("Original-Recipient"))
			if addr == "" {
				addr = dsnAddrField(h.Get("Final-Recipient"))
			}
			if addr == "" {
				addr = dsnAddrField(h.Get("X-Actual-Recipient"))
			}
			if addr == "" {
				continue // the per-message block
			}
			r := rcpt{
				addr:   addr,
				action: dsnAction(h.Get("Action")),
				status: dsnStatusRe.FindString(h.Get("Status")),
				diag:   dsnTypedValue(h.Get("Diagnostic-Code")),
			}
			switch r.action {
			case "failed", "delayed", "delivered", "relayed", "expanded":
			default:
				// No action, or one RFC 3464 does not define ("error"):
				// judge by the status class (RFC 3463 §3.1).
				r.action = ""
				switch {
				case strings.HasPrefix(r.status, "5"):
					r.action = "failed"
				case strings.HasPrefix(r.status, "4"):
					r.action = "delayed"
				}
			}
			all = append(all, r)
		}
	}
	for _, want := range []string{"failed", "delayed"} {
		for _, r := range all {
			if r.action != want {
				continue
			}
			rep.Recipients = parseAppendUnique(rep.Recipients, r.addr)
			if rep.Action == "" {
				rep.Action, rep.Status, rep.Diagnostic = r.action, r.status, r.diag
			}
		}
		if len(rep.Recipients) > 0 {
			return
		}
	}
	if len(all) > 0 && rep.Action == "" {
		// Delivered, relayed or expanded: a report, but not a failure.
		rep.Action, rep.Status, rep.Diagnostic = all[0].action, all[0].status, all[0].diag
	}
}

// dsnAction normalises an Action field (RFC 3464 §2.3.3): failed,
// delayed, delivered, relayed or expanded; "failure" and the like are
// mapped onto those.
func dsnAction(v string) string {
	a := strings.ToLower(strings.TrimSpace(strings.SplitN(strings.TrimSpace(v), " ", 2)[0]))
	a = strings.TrimRight(a, ";,.")
	switch {
	case strings.HasPrefix(a, "fail"):
		return "failed"
	case strings.HasPrefix(a, "delay"):
		return "delayed"
	}
	return a
}

// dsnAddrField reads "address-type; address" (RFC 3464 §2.3.2).
func dsnAddrField(v string) string {
	v = dsnTypedValue(v)
	v = strings.Trim(strings.TrimSpace(v), "<>\"")
	if !addrLooksLike(v) {
		if a, ok := addrLenient(v); ok {
			return a.Email
		}
		return ""
	}
	return strings.ToLower(v)
}

// dsnTypedValue drops the "type;" prefix of a DSN field value.
func dsnTypedValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 20 && !strings.ContainsAny(v[:i], " @<") {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// dsnStatusRe matches an RFC 3463 enhanced status code.
var dsnStatusRe = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// dsnOriginalID finds the Message-ID of the mail that bounced: in the
// returned headers, or failing that in a "Message-ID:" line of the body
// (non-standard bounces quote the returned mail inline).
func dsnOriginalID(originals []string, body []byte, own string) string {
	for _, o := range originals {
		h, _, _, _ := parseHeaderBlock([]byte(o))
		if ids := parseMsgIDs(h.Get("Message-Id")); len(ids) > 0 {
			return ids[0]
		}
	}
	for _, m := range dsnMessageIDRe.FindAllSubmatch(body, 8) {
		if ids := parseMsgIDs(string(m[1])); len(ids) > 0 && ids[0] != own {
			return ids[0]
		}
	}
	return ""
}

var dsnMessageIDRe = regexp.MustCompile(`(?im)^[ \t>]*Message-ID:[ \t]*(<[^>\r\n]+>)`)

// dsnBounceSubjectWords are the words of the subjects MTAs give their
// bounces, lower case.
var dsnBounceSubjectWords = []string{
	"undeliver", "undelivered", "non-deliver", "nondeliver",
	"delivery status notification", "delivery failure", "delivery failed", "delivery notification",
	"delivery report", "delivery problem", "delivery error", "delivery has failed", "delivery warning",
	"returned mail", "returned to sender", "failure notice",
	"mail delivery failed", "mail delivery failure", "mail delivery system", "mail delivery problem",
	"could not be delivered", "not delivered", "mail system error", "could not send message",
	"permanent error", "delivery final failure", "failed mail", "mail failed", "mail failure", "user unknown",
	"non remis", "nicht zustellbar", "unzustellbar", "no entregado", "non recapitabile", "не доставлено", "bounced",
}

// dsnBounceSubjectRe matches the subjects MTAs give their bounces: any of
// dsnBounceSubjectWords, in any case.
var dsnBounceSubjectRe = regexp.MustCompile(`(?i)` + parseAlternation(dsnBounceSubjectWords))

// dsnBounceSubject reports whether dsnBounceSubjectRe matches s. An ASCII
// s, the usual case, is lower-cased and searched for each word instead,
// for a fraction of the regexp's cost: in ASCII text a letter of a word
// matches under (?i) its two ASCII cases and nothing else, and the words
// with other letters cannot occur.
func dsnBounceSubject(s string) bool {
	lower, ok := parseASCIILower(s)
	if !ok {
		return dsnBounceSubjectRe.MatchString(s)
	}
	for _, w := range dsnBounceSubjectWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// dsnDaemonNameWords are the words of the display names of bounce
// senders, lower case; dsnDaemonName adds "mailer" and "daemon" with at
// most one character between them.
var dsnDaemonNameWords = []string{
	"mail delivery", "postmaster", "mail system", "delivery subsystem", "mail administrator",
	"system administrator", "antivirus", "mail service", "mdaemon",
}

// dsnDaemonNameRe matches the display names of bounce senders.
var dsnDaemonNameRe = regexp.MustCompile(`(?i)mailer.?daemon|` + parseAlternation(dsnDaemonNameWords))

// dsnDaemonName reports whether dsnDaemonNameRe matches s, without the
// regexp for ASCII s (see dsnBounceSubject).
func dsnDaemonName(s string) bool {
	lower, ok := parseASCIILower(s)
	if !ok {
		return dsnDaemonNameRe.MatchString(s)
	}
	for _, w := range dsnDaemonNameWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	// "mailer.?daemon": the dot is any character but a line feed.
	for rest := lower; ; {
		i := strings.Index(rest, "mailer")
		if i < 0 {
			return false
		}
		rest = rest[i+len("mailer"):]
		if strings.HasPrefix(rest, "daemon") || (rest != "" && rest[0] != '\n' && strings.HasPrefix(rest[1:], "daemon")) {
			return true
		}
	}
}

// dsnLooksLikeBounce tells a non-standard bounce from other mail. Mail from
// MAILER-DAEMON is one (the conventional sender of MTA notifications since
// sendmail). Other
// mail must say so in its subject or text (bounce wording) and carry a
// sign of machine origin: a daemon-like sender, the null return path,
// Auto-Submitted, a returned message part, or SMTP reply or status codes
// in the text. A customer's "Delivery failed: the parcel could not be
// delivered" stays a customer's mail.
func dsnLooksLikeBounce(h *gomessage.Header, m *helpdesk.Message, returned bool) bool {
	if h.Has("X-Failed-Recipients") {
		return true
	}
	local := loopLocalPart(m.From.Email)
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
	// Both tests must pass and neither has side effects, so the cheaper
	// goes first: ordinary mail carries no sign of machine origin, which
	// is a few header and byte scans, and never pays for lower-casing the
	// text and searching it for the bounce wording.
	return dsnMachineOrigin(h, m, local, head, returned) &&
		(dsnBounceSubject(m.Subject) || dsnHasBounceWording(head))
}

// dsnMachineOrigin reports the signs that a mail was written by a program
// rather than a person: a daemon-like sender (local is the lower-cased
// local part of its address), the null return path, Auto-Submitted, a
// returned message part, a trace field or SMTP reply or status codes in
// head, the start of the text.
func dsnMachineOrigin(h *gomessage.Header, m *helpdesk.Message, local, head string, returned bool) bool {
	daemon := strings.HasPrefix(local, "postmaster") || dsnDaemonName(m.From.Name) ||
		dsnDaemonName(local) || (m.From.Email == "" && dsnDaemonName(h.Get("From")))
	auto := m.ReturnPath == "<>" || (h.Get("Auto-Submitted") != "" && !strings.EqualFold(strings.TrimSpace(h.Get("Auto-Submitted")), "no"))
	return daemon || auto || returned || strings.Contains(head, "Received: from") ||
		dsnHasStatusCode(head) || dsnHasSMTPCode(head)
}

// dsnHasStatusCode reports whether s holds an RFC 3463 enhanced status
// code: what dsnStatusRe matches, without a regexp, since every mail is
// scanned for one.
func dsnHasStatusCode(s string) bool {
	for i := 0; ; i++ {
		// Every match starts with "[245]." at a word boundary.
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			return false
		}
		i += j // s[i] == '.'
		if i == 0 || (s[i-1] != '2' && s[i-1] != '4' && s[i-1] != '5') || (i >= 2 && parseIsWordByte(s[i-2])) {
			continue
		}
		// One to three digits, a dot, one to three digits and a word
		// boundary. The digit runs are maximal: a fourth digit, or a
		// letter after the last, leaves no way to match.
		k := i + 1
		n := dsnDigits(s[k:])
		if n < 1 || n > 3 || k+n >= len(s) || s[k+n] != '.' {
			continue
		}
		k += n + 1
		n = dsnDigits(s[k:])
		if n < 1 || n > 3 || (k+n < len(s) && parseIsWordByte(s[k+n])) {
			continue
		}
		return true
	}
}

// dsnHasSMTPCode reports whether s holds an SMTP reply code of a failure
// followed by text: what dsnSMTPCodeRe matches, without a regexp.
func dsnHasSMTPCode(s string) bool {
	for i := 0; i+4 < len(s); i++ {
		c := s[i]
		if c != '4' && c != '5' {
			continue
		}
		if i > 0 && parseIsWordByte(s[i-1]) {
			continue
		}
		if !parseIsDigit(s[i+1]) || !parseIsDigit(s[i+2]) || (s[i+3] != ' ' && s[i+3] != '-') {
			continue
		}
		switch c := s[i+4]; {
		case parseIsDigit(c), parseIsLetter(c), c == '<':
			return true
		}
	}
	return false
}

// dsnDigits counts the ASCII digits at the start of s.
func dsnDigits(s string) int {
	n := 0
	for n < len(s) && parseIsDigit(s[n]) {
		n++
	}
	return n
}

// dsnBodyPhrases are the sentences of a bounce's explanation, lower case.
// They are plain substrings: a regexp alternation of this size costs a
// millisecond on every ordinary mail that mentions an error code.
var dsnBodyPhrases = []string{
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

// dsnHasBounceWording reports whether text reads like a bounce: whether
// any of dsnBodyPhrases occurs in strings.ToLower(text). It makes one
// pass over the text instead of one per phrase: at each byte a 4-byte
// window is looked up in a filter of the phrases' first four bytes, and
// only where the filter admits it are the phrases starting with that
// byte compared. The bytes are compared with their ASCII capitals
// lowered, so ASCII text, the usual case, needs no lower-cased copy
// (strings.ToLower does no more to it); other text is lower-cased first,
// which leaves no ASCII capital.
func dsnHasBounceWording(text string) bool {
	if !parseIsASCII(text) {
		text = strings.ToLower(text)
	}
	idx := &dsnPhraseIdx
	for i := 0; i+dsnPhraseKeyLen <= len(text); i++ {
		if idx.byFirst[ascii.LowerByte(text[i])] == nil || !idx.mayStart(text[i:]) {
			continue
		}
		for _, p := range idx.byFirst[ascii.LowerByte(text[i])] {
			if ascii.HasPrefixFold(text[i:], p) {
				return true
			}
		}
	}
	return false
}

// dsnPhraseKeyLen is the length of the prefix dsnPhraseIndex filters on;
// every phrase is longer.
const dsnPhraseKeyLen = 4

// dsnPhraseIndex finds dsnBodyPhrases in a text.
type dsnPhraseIndex struct {
	filter  [1 << 12 / 64]uint64 // bit dsnPhraseHash(prefix) set for each phrase's first bytes
	byFirst [256][]string        // the phrases by their first byte
}

var dsnPhraseIdx = newDSNPhraseIndex(dsnBodyPhrases)

func newDSNPhraseIndex(phrases []string) dsnPhraseIndex {
	var idx dsnPhraseIndex
	for _, p := range phrases {
		if len(p) < dsnPhraseKeyLen {
			panic("message: bounce phrase " + p + " shorter than the filter key")
		}
		h := dsnPhraseHash(p)
		idx.filter[h/64] |= 1 << (h % 64)
		idx.byFirst[p[0]] = append(idx.byFirst[p[0]], p)
	}
	return idx
}

// mayStart reports whether a phrase may start at the beginning of s,
// which holds at least dsnPhraseKeyLen bytes. False is certain.
func (idx *dsnPhraseIndex) mayStart(s string) bool {
	h := dsnPhraseHash(s)
	return idx.filter[h/64]&(1<<(h%64)) != 0
}

// dsnPhraseHash hashes the first dsnPhraseKeyLen bytes of s, their ASCII
// letters lower-cased, to 12 bits.
func dsnPhraseHash(s string) uint32 {
	lc := ascii.LowerByte
	k := uint32(lc(s[0])) | uint32(lc(s[1]))<<8 | uint32(lc(s[2]))<<16 | uint32(lc(s[3]))<<24
	return (k * 0x9E3779B1) >> 20
}

// dsnCutRe finds where a bounce starts quoting the returned message.
var dsnCutRe = regexp.MustCompile(`(?im)^[ \t|]*(-+ ?)?(original message follows|below this line is a copy|this is a copy of (the|your) message|the original message (follows|headers)|original message ?-+|returned message|start of returned message|undelivered message follows|unsent message below|message header follows|your message reads|the text of your message|headers of the original message|the header of the original message|returned mail|message text follows|original message as received|the first \d+ lines of your original message)`)

// dsnReportText is the explanation part of a bounce: the text before the
// quoted original message.
func dsnReportText(text string) string {
	if loc := dsnCutRe.FindStringIndex(text); loc != nil {
		return text[:loc[0]]
	}
	return text
}

// dsnAddrRe matches an addr-spec in bounce text. It leaves out "=" and
// "/" so that X.400 renderings like "SMTP=user@example.com" give the
// address.
var dsnAddrRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+'&!#$^{}|~-]*@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+`)

// dsnSkipLineRe matches bounce lines whose addresses are not recipients:
// trace fields, the sender in an SMTP transcript, message ids, contacts.
var dsnSkipLineRe = regexp.MustCompile(`(?i)^\s*(>\s*)?(received:|return-path:|message-id:|in-reply-to:|references:|x-[a-z-]+:|from:|reply-to:|sender:|errors-to:)|mail from\b|message-id|\bby [^ ]+ with |contact|please (send|forward|reply)|^\s*for <`)

// dsnHeaderLineRe matches header-like lines quoted in a bounce ("To:
// list@example.com", "Subject: ..."): their addresses are only used when
// nothing else is found, because they usually name the original
// recipient list rather than the failed address.
var dsnHeaderLineRe = regexp.MustCompile(`(?i)^\s*(to|cc|bcc|sent|date|subject)\s*:`)

// dsnTemporaryRe matches the wording of delay warnings.
var dsnTemporaryRe = regexp.MustCompile(`(?i)will (continue|keep) (to )?(try|trying|attempt)|attempts will continue|will be retried|will retry|will try again|not yet been delivered|has not been delivered yet|still (trying|being retried)|has been postponed|delivery (is |has been )?delayed|delayed delivery|\(delay\)|this is a warning|warning message only|advisory-only|could not be delivered (yet|for \d+ hours)`)

// dsnPermanentRe matches the wording of final failures; it wins over
// the delay wording.
var dsnPermanentRe = regexp.MustCompile(`(?i)permanent|fatal|given up|giving up|not going to try again|failed permanently|will not be retried|no further attempts`)

// dsnScanText picks the failed recipients out of a bounce's explanation.
// It reports whether the bounce is a delay warning rather than a failure.
func dsnScanText(text string, excluded map[string]bool) (rcpts []string, temporary bool) {
	var weak []string
	lines := strings.Split(text, "\n")
	for _, line := range lines {
		if len(line) > 1000 || dsnSkipLineRe.MatchString(line) {
			continue
		}
		header := dsnHeaderLineRe.MatchString(line)
		for _, a := range dsnAddrRe.FindAllString(line, -1) {
			a = strings.ToLower(strings.Trim(a, ".-'"))
			if excluded[a] || dsnNotRecipient(a) {
				continue
			}
			if header {
				weak = parseAppendUnique(weak, a)
			} else {
				rcpts = parseAppendUnique(rcpts, a)
			}
		}
	}
	if len(rcpts) == 0 {
		rcpts = weak
	}
	temporary = dsnTemporaryRe.MatchString(text) && !dsnPermanentRe.MatchString(text)
	return rcpts, temporary
}

// dsnBareLocals handles bounces that name the recipient without a domain
// (AOL: "could not be delivered ...:" then a tab-indented screen name): a
// lone token on the lines after such a sentence is read as a local part of
// the bounce sender's domain.
func dsnBareLocals(text, from string) []string {
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return nil
	}
	domain := from[at+1:]
	var out []string
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !dsnTriggerRe.MatchString(l) {
			continue
		}
		for _, next := range lines[i+1 : min(i+8, len(lines))] {
			tok := strings.TrimSpace(next)
			if tok == "" {
				continue
			}
			if !dsnLocalRe.MatchString(tok) {
				break
			}
			out = parseAppendUnique(out, strings.ToLower(tok)+"@"+domain)
		}
	}
	return out
}

var (
	dsnTriggerRe = regexp.MustCompile(`(?i)following (recipients?|address(es)?|users?)`)
	dsnLocalRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// dsnNotRecipient filters out addresses that a bounce mentions but that
// cannot be the failed recipient: daemons and message-id-like tokens.
func dsnNotRecipient(a string) bool {
	local := loopLocalPart(a)
	switch local {
	case "postmaster", "mailer-daemon", "mail-daemon", "mailerdaemon", "abuse", "hostmaster", "webmaster":
		return true
	}
	// Message-ids and queue ids: long runs of digits and dots or "$".
	digits := 0
	for _, c := range local {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return strings.ContainsAny(local, "$") || (len(local) >= 12 && digits*2 > len(local))
}

// dsnExcluded lists the addresses of the bounce itself (its sender and the
// original sender it is addressed to), which bounce text repeats.
func dsnExcluded(m *helpdesk.Message) map[string]bool {
	ex := map[string]bool{}
	if m.From.Email != "" {
		ex[m.From.Email] = true
	}
	for _, a := range m.To {
		ex[a.Email] = true
	}
	for _, a := range m.ReplyTo {
		ex[a.Email] = true
	}
	if m.ReturnPath != "" && m.ReturnPath != "<>" {
		ex[m.ReturnPath] = true
	}
	for _, r := range m.Recipients {
		ex[r] = true
	}
	return ex
}

// dsnDiagnostic returns the first line of the explanation that carries an
// SMTP reply code, as the human-readable reason.
func dsnDiagnostic(text string) string {
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		if dsnSMTPCodeRe.MatchString(l) {
			if len(l) > 300 {
				l = fileTruncateUTF8(l, 300)
			}
			return l
		}
	}
	return ""
}

var dsnSMTPCodeRe = regexp.MustCompile(`\b[45]\d\d[ -][0-9A-Za-z<]`)
