package mailbox

import (
	"strings"
	"testing"

	"github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
)

// equivWalk runs Parse's steps up to the bounce test on raw, returning the
// top-level header and the parser, or false for mail Parse quarantines.
func equivWalk(raw []byte) (message.Header, *parser, bool) {
	h, body, n, _ := parseHeaderBlock(raw)
	if n == 0 {
		return h, nil, false
	}
	p := &parser{limit: DefaultMaxAttachmentSize, msg: &helpdesk.Message{Raw: raw}}
	p.headers(&h)
	var acc parseBody
	p.entity(&h, body, 0, parseCtx{}, &acc)
	p.finishBody(&acc)
	return h, p, true
}

// TestDSNLooksLikeBounceMatchesReference compares dsnLooksLikeBounce with
// the reference copy of the code before optimisation (dsn_ref_test.go) on
// every mail of the corpus, fixtures and typical shapes, and on variants
// of each that turn on one sign of machine origin or bounce wording at a
// time, so that both orders of evaluation meet every combination.
func TestDSNLooksLikeBounceMatchesReference(t *testing.T) {
	type variant struct {
		name string
		edit func(h *message.Header, m *helpdesk.Message)
	}
	variants := []variant{
		{"as is", func(*message.Header, *helpdesk.Message) {}},
		{"daemon sender", func(_ *message.Header, m *helpdesk.Message) {
			m.From = helpdesk.Address{Name: "Mail Delivery System", Email: "bounces@mx.example"}
		}},
		{"postmaster", func(_ *message.Header, m *helpdesk.Message) { m.From.Email = "postmaster+x@mx.example" }},
		{"mailer-daemon", func(_ *message.Header, m *helpdesk.Message) { m.From.Email = "MAILER-DAEMON@mx.example" }},
		{"no address", func(h *message.Header, m *helpdesk.Message) {
			m.From = helpdesk.Address{}
			h.Set("From", "Mail Delivery Subsystem")
		}},
		{"null return path", func(_ *message.Header, m *helpdesk.Message) { m.ReturnPath = "<>" }},
		{"auto-submitted", func(h *message.Header, _ *helpdesk.Message) { h.Set("Auto-Submitted", "auto-replied") }},
		{"auto-submitted no", func(h *message.Header, _ *helpdesk.Message) { h.Set("Auto-Submitted", " No ") }},
		{"x-failed-recipients", func(h *message.Header, _ *helpdesk.Message) { h.Set("X-Failed-Recipients", "a@b.example") }},
		{"bounce subject", func(_ *message.Header, m *helpdesk.Message) { m.Subject = "Undelivered Mail Returned to Sender" }},
		{"bounce wording", func(_ *message.Header, m *helpdesk.Message) {
			m.Text = "Your message could not be delivered.\n" + m.Text
		}},
		{"smtp code", func(_ *message.Header, m *helpdesk.Message) { m.Text = "Remote said: 550 no\n" + m.Text }},
		{"status code", func(_ *message.Header, m *helpdesk.Message) { m.Text = "Status: 5.1.1\n" + m.Text }},
		{"trace field", func(_ *message.Header, m *helpdesk.Message) { m.Text = "Received: from x\n" + m.Text }},
		{"code and wording", func(_ *message.Header, m *helpdesk.Message) {
			m.Text = "Delivery has failed: 550 5.1.1 user unknown\n" + m.Text
		}},
	}
	mails := equivMails(t)
	counts := map[bool]int{}
	for _, mail := range mails {
		h0, p, ok := equivWalk(mail.raw)
		if !ok {
			continue
		}
		for _, v := range variants {
			h := h0.Copy()
			m := *p.msg
			v.edit(&h, &m)
			for _, returned := range []bool{p.returned, !p.returned} {
				want := refDsnLooksLikeBounce(&h, &m, returned)
				if got := dsnLooksLikeBounce(&h, &m, returned); got != want {
					t.Errorf("%s, %s, returned %v: dsnLooksLikeBounce = %v, reference %v", mail.name, v.name, returned, got, want)
				}
				counts[want]++
			}
		}
	}
	t.Logf("%d mails: %d bounce verdicts, %d not", len(mails), counts[true], counts[false])
	if counts[true] < 1000 || counts[false] < 1000 {
		t.Errorf("verdicts %v: the variants do not exercise both answers", counts)
	}
}

// TestDSNCodeScannersMatchRegexps holds dsnHasStatusCode and
// dsnHasSMTPCode to the regexps they stand for, on every line of the
// texts, every text's head, and generated lines.
func TestDSNCodeScannersMatchRegexps(t *testing.T) {
	texts := equivTexts(t)
	inputs := append(equivLines(texts), equivRandomLines(30000, 5)...)
	for _, text := range texts {
		inputs = append(inputs, text[:min(len(text), 4096)])
	}
	inputs = append(inputs, "", "5.1.1", "a5.1.1", "5.1.1a", "5.1.1.", "_5.1.1", "5.1234.1", "5.123.1234", "2.0.0 ok",
		"é5.1.1é", "3.1.1", "5..1", "5.1.", "550 x", "550-x", "550  x", "550 <", "5500 x", "a550 x", "550 é", "450 9", "45 x")
	var status, smtp int
	for _, s := range inputs {
		want := refDsnStatusRe.MatchString(s)
		if got := dsnHasStatusCode(s); got != want {
			t.Errorf("dsnHasStatusCode(%q) = %v, regexp %v", s, got, want)
		}
		if want {
			status++
		}
		want = refDsnSMTPCodeRe.MatchString(s)
		if got := dsnHasSMTPCode(s); got != want {
			t.Errorf("dsnHasSMTPCode(%q) = %v, regexp %v", s, got, want)
		}
		if want {
			smtp++
		}
	}
	t.Logf("%d inputs: %d with a status code, %d with an SMTP code", len(inputs), status, smtp)
}

// TestDSNHasBounceWordingMatchesReference holds the one-pass phrase search
// to the search it replaced (strings.Contains of each phrase in the
// lower-cased text) on the head of every text and every line of them, as
// they are and lower-cased, with each phrase planted at the start, the
// middle and the end of some of them, in small and capital letters and
// with the non-ASCII letters that lower-case to ASCII ones.
func TestDSNHasBounceWordingMatchesReference(t *testing.T) {
	texts := equivTexts(t)
	var inputs []string
	for _, text := range texts {
		inputs = append(inputs, text[:min(len(text), 4096)])
	}
	inputs = append(inputs, equivLines(inputs)...)
	for i, p := range refDsnBodyPhrases {
		base := inputs[i%len(texts)]
		inputs = append(inputs, p, p[:len(p)-1], p[1:], p+base, base+p, base[:len(base)/2]+p+base[len(base)/2:],
			base+p[:len(p)-1], strings.ToUpper(p), strings.ToTitle(p), "é"+strings.ToUpper(p),
			strings.ReplaceAll(strings.ReplaceAll(p, "k", "\u212a"), "i", "\u0130"))
	}
	for _, s := range append(inputs, equivRandomLines(20000, 13)...) {
		for _, in := range []string{s, strings.ToLower(s)} {
			want := refDsnHasBounceWording(strings.ToLower(in))
			if got := dsnHasBounceWording(in); got != want {
				t.Errorf("dsnHasBounceWording(%q) = %v, reference %v", corpusClip(in), got, want)
			}
		}
	}
}

// TestDSNWordsMatchRegexps holds dsnBounceSubject and dsnDaemonName to
// the regexps they stand for, on the subjects, sender names and From
// fields of every mail and on planted words in every case.
func TestDSNWordsMatchRegexps(t *testing.T) {
	var inputs []string
	for _, mail := range equivMails(t) {
		h, p, ok := equivWalk(mail.raw)
		if !ok {
			continue
		}
		inputs = append(inputs, p.msg.Subject, p.msg.From.Name, p.msg.From.Email, loopLocalPart(p.msg.From.Email), h.Get("From"), h.Get("Subject"))
	}
	words := append(append([]string{"mailer-daemon", "MAILER DAEMON", "mailerdaemon", "mailer\ndaemon", "mailer\u00e9daemon",
		"mailer--daemon", "Mailer_Daemon", "mailermailer-daemon", "mailer"}, dsnBounceSubjectWords...), dsnDaemonNameWords...)
	for _, w := range words {
		for _, v := range []string{w, strings.ToUpper(w), strings.ToTitle(w), strings.ReplaceAll(w, "s", "\u017f"),
			strings.ReplaceAll(w, "k", "\u212a"), w[:len(w)-1], w[1:]} {
			inputs = append(inputs, v, "Re: "+v+" (x)", "é "+v, "\r\n "+v+"\n")
		}
	}
	inputs = append(inputs, equivRandomLines(5000, 17)...)
	var subjects, daemons int
	for _, s := range inputs {
		want := refDsnBounceSubjectRe.MatchString(s)
		if got := dsnBounceSubject(s); got != want {
			t.Errorf("dsnBounceSubject(%q) = %v, regexp %v", s, got, want)
		}
		if want {
			subjects++
		}
		want = refDsnDaemonNameRe.MatchString(s)
		if got := dsnDaemonName(s); got != want {
			t.Errorf("dsnDaemonName(%q) = %v, regexp %v", s, got, want)
		}
		if want {
			daemons++
		}
	}
	t.Logf("%d inputs: %d bounce subjects, %d daemon names", len(inputs), subjects, daemons)
}
