package message

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StripReply returns the new text of a plain-text mail body: the text
// without the quoted history (Gmail, Outlook desktop and web, Apple Mail,
// Thunderbird attribution lines and header blocks, in the languages of the
// corpus; "> " quote blocks) and without the signature ("-- " delimiter,
// mobile "Sent from my iPhone" lines, list footers). Inline replies, where
// the writer answers between quoted lines, are kept whole up to the last
// answer, because the quotes are what the answers refer to. A forwarded
// message is kept whole: what was forwarded is the content. The result is
// never longer than text; it is "" when the body holds nothing new.
//
// The approach follows mailgun/talon's: classify each line (text, empty,
// quote marker, splitter, forward marker, signature), then cut on the
// shape of the marker sequence.
func StripReply(text string) string { return stripReply(text, false) }

// StripForward is StripReply for a mail whose subject says it forwards
// another ("FW: ...", see ForwardSubject): the first header block or
// attribution line ("From: ... Sent: ...", "On ... wrote:") starts the
// forwarded mail, which is the content, as a dashed "Forwarded message"
// line does in StripReply.
func StripForward(text string) string { return stripReply(text, true) }

// ReportText is the text an incident report is judged on: for a mail
// whose subject forwards another, the forwarded mail with the comment
// above it (StripForward); else the new text, or the whole text when it
// has none. Only the reading of a report uses it: a mail's NewText, which
// is what gets relayed, stays without quoted history whatever its subject
// says, since the subject is the sender's to write (an agent's "FW:" over
// a notification must not relay the notification).
func ReportText(subject, text, newText string) string {
	if ForwardSubject(subject) {
		if s := StripForward(text); strings.TrimSpace(s) != "" {
			return s
		}
	}
	if strings.TrimSpace(newText) != "" {
		return newText
	}
	return text
}

func stripReply(text string, forward bool) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	lines = replySplitSharedLines(lines)
	units := replyClassify(lines)
	if forward {
		for i := range units {
			if units[i].kind == replySplitter {
				units[i].kind = replyForward
				break
			}
			if units[i].kind == replyQuote {
				break // a quotation before any header: a reply after all
			}
		}
	}
	keep := replyDecide(units)
	var b strings.Builder
	for _, u := range units[:keep.end] {
		if u.kind == replySignature || keep.drop[u.start] {
			continue
		}
		for _, l := range lines[u.start:u.end] {
			b.WriteString(strings.TrimRight(l, " \t"))
			b.WriteByte('\n')
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > len(text) {
		// Cannot happen (only lines of text are written), but the
		// contract is worth a guard.
		out = out[:len(text)]
	}
	return out
}

// Line kinds; as bytes they form the marker string the decisions match.
const (
	replyText      = 't'
	replyEmpty     = 'e'
	replyQuote     = 'm'
	replySplitter  = 's'
	replyForward   = 'f'
	replySignature = 'g'
)

// replyUnit is one classified line, or several lines of one splitter.
type replyUnit struct {
	kind       byte
	start, end int // line range [start, end)
}

type replyKeep struct {
	end  int          // units[:end] are kept
	drop map[int]bool // start lines of units dropped inside the kept range
}

// replyMaxLines bounds the work on pathological bodies; lines beyond it
// are treated as text (talon does the same with its MAX_LINES_COUNT).
const replyMaxLines = 3000

func replyClassify(lines []string) []replyUnit {
	units := make([]replyUnit, 0, len(lines))
	for i := 0; i < len(lines); {
		l := lines[i]
		trim := strings.TrimSpace(l)
		switch {
		case trim == "":
			units = append(units, replyUnit{replyEmpty, i, i + 1})
			i++
			continue
		case i >= replyMaxLines:
			units = append(units, replyUnit{replyText, i, i + 1})
			i++
			continue
		case strings.HasPrefix(trim, ">"):
			units = append(units, replyUnit{replyQuote, i, i + 1})
			i++
			continue
		case replyMayBeForward(l) && replyForwardRe.MatchString(l):
			units = append(units, replyUnit{replyForward, i, i + 1})
			i++
			continue
		}
		if n := replySplitterAt(lines, i); n > 0 {
			// A header block may be introduced by separator lines
			// ("____", "-----Original Message-----", "Message du : ...")
			// already classified as text or splitter: take them in.
			for k := len(units) - 1; k >= 0; k-- {
				u := units[k]
				if u.kind == replyEmpty {
					continue
				}
				if u.kind == replySplitter || (u.kind == replyText && replySeparatorRe.MatchString(lines[u.start])) {
					n += i - u.start
					i = u.start
					units = units[:k]
					continue
				}
				break
			}
			units = append(units, replyUnit{replySplitter, i, i + n})
			i += n
			continue
		}
		units = append(units, replyUnit{replyText, i, i + 1})
		i++
	}
	replyQuoteContinuations(units, lines)
	replyMarkSignatures(units, lines)
	return units
}

// replyQuoteContinuations marks as quote a single text line sandwiched
// between quote lines when it continues the quote line before it: the
// client wrapped a long quoted line (or a long link) and lost the marker
// on the wrapped part. A one-line inline answer is told apart by the
// quote before it being short and link-free.
func replyQuoteContinuations(units []replyUnit, lines []string) {
	for k := 1; k+1 < len(units); k++ {
		if units[k].kind != replyText || units[k-1].kind != replyQuote || units[k+1].kind != replyQuote {
			continue
		}
		prev, cur := lines[units[k-1].start], strings.TrimSpace(lines[units[k].start])
		if utf8.RuneCountInString(prev) >= 60 || strings.Contains(prev, "(http") || strings.Contains(prev, "<http") ||
			strings.HasPrefix(cur, "(http") || strings.HasPrefix(cur, "<http") {
			units[k].kind = replyQuote
		}
	}
}

// replyMarkSignatures marks signature blocks among the unquoted text: from
// a "-- " delimiter (RFC 3676 §4.3) or a line of underscores (list
// footers) up to the next quote or splitter, when the block is short
// enough to be a signature; and from a mobile client's "Sent from my
// iPhone" line to the end, since what such clients put below it is the
// unquoted history.
func replyMarkSignatures(units []replyUnit, lines []string) {
	seenText := false
	for k := 0; k < len(units); k++ {
		u := units[k]
		if u.kind != replyText {
			continue
		}
		l := strings.TrimSpace(lines[u.start])
		if len(l) <= 120 && replyMobileStart(l) && replyMobileRe.MatchString(l) {
			for j := k; j < len(units); j++ {
				units[j].kind = replySignature
			}
			return
		}
		if !seenText {
			seenText = true
			continue // a delimiter on the first line of text opens no signature
		}
		var limit int
		switch {
		case l == "--":
			limit = 30
		case strings.Contains(l, "__") && replyUnderscoreRe.MatchString(l):
			limit = 15
		default:
			continue
		}
		end, nonEmpty := k, 0
		for end < len(units) && (units[end].kind == replyText || units[end].kind == replyEmpty) {
			if units[end].kind == replyText {
				nonEmpty++
			}
			end++
		}
		if nonEmpty > limit {
			continue
		}
		for j := k; j < end; j++ {
			units[j].kind = replySignature
		}
		k = end - 1
	}
}

// replyDecide chooses which units to keep from the shape of the marker
// sequence.
func replyDecide(units []replyUnit) replyKeep {
	markers := make([]byte, len(units))
	for i, u := range units {
		markers[i] = u.kind
	}
	keep := replyKeep{end: len(units)}

	firstF := strings.IndexByte(string(markers), replyForward)
	firstQS := strings.IndexAny(string(markers), "ms")
	if firstF >= 0 && (firstQS < 0 || firstF < firstQS) {
		// A forward with a comment above it: the forwarded mail is the
		// content. Keep everything, signatures of the writer aside.
		for i := range markers {
			if markers[i] == replySignature {
				units[i].kind = replyText
			}
		}
		return keep
	}
	// Without a splitter, fewer than three quoted lines are text (a quoted
	// command line, ">>> " in a log), not a quotation.
	if !strings.ContainsRune(string(markers), replySplitter) && strings.Count(string(markers), "m") < 3 {
		for i := range markers {
			if markers[i] == replyQuote {
				markers[i] = replyText
				units[i].kind = replyText
			}
		}
	}
	// A splitter followed by unquoted text (Outlook, and every client
	// once the quote markers are gone): everything from there is history.
	if loc := replyCutRe.FindIndex(markers); loc != nil {
		keep.end = loc[0]
	}
	// Drop the trailing quotation: quote lines, splitters, empty lines and
	// signatures after the last line of text.
	for keep.end > 0 && strings.IndexByte("mseg", markers[keep.end-1]) >= 0 {
		keep.end--
	}
	// What is left may still hold quote blocks with text after them.
	type block struct{ from, to int }
	var blocks []block
	for i := 0; i < keep.end; i++ {
		if markers[i] != replyQuote && markers[i] != replySplitter {
			continue
		}
		j := i
		for j+1 < keep.end && strings.IndexByte("mse", markers[j+1]) >= 0 {
			j++
		}
		for markers[j] == replyEmpty {
			j--
		}
		blocks = append(blocks, block{i, j + 1})
		i = j
	}
	if len(blocks) == 1 {
		b := blocks[0]
		before := strings.ContainsRune(string(markers[:b.from]), replyText)
		after := 0
		for i := b.to; i < keep.end; i++ {
			if markers[i] == replyText {
				after++
			}
		}
		// A quote at the top with the answer below it (bottom posting),
		// or a reply, the quote, and a short sign-off under it: the quote
		// goes. A longer answer under the quote is an inline reply and
		// keeps its quote.
		if !before || after <= 2 {
			keep.drop = map[int]bool{}
			to := b.to
			for to < keep.end && markers[to] == replyEmpty {
				to++ // and the empty lines that set it off below
			}
			for i := b.from; i < to; i++ {
				keep.drop[units[i].start] = true
			}
		}
	}
	return keep
}

// replyCutRe finds a splitter followed by unquoted text or a forward.
var replyCutRe = regexp.MustCompile(`s[se]*[tf]`)

// replySplitSharedLines splits a line in which the reply and the
// attribution share a line ("reply On Wed, Apr 4, 2012 at 3:59 PM, bob
// wrote:"), as some clients produce when they rewrap.
func replySplitSharedLines(lines []string) []string {
	var out []string
	for i, l := range lines {
		if !strings.Contains(l, "On ") || !(strings.HasSuffix(strings.TrimRight(l, " \t"), "wrote:") || strings.HasSuffix(strings.TrimRight(l, " \t"), "sent:")) {
			if out != nil {
				out = append(out, l)
			}
			continue
		}
		if !replyMayShare(l) {
			if out != nil {
				out = append(out, l)
			}
			continue
		}
		if m := replySharedRe.FindStringSubmatchIndex(l); m != nil && strings.TrimSpace(l[:m[2]]) != "" && !strings.HasPrefix(strings.TrimSpace(l), ">") {
			if out == nil {
				out = append(make([]string, 0, len(lines)+1), lines[:i]...)
			}
			out = append(out, strings.TrimRight(l[:m[2]], " -"), l[m[2]:])
			continue
		}
		if out != nil {
			out = append(out, l)
		}
	}
	if out == nil {
		return lines
	}
	return out
}

// replyMayShare is a cheap test that must pass for replySharedRe to match
// l: some "On " in it has a character other than white space before it
// (the \S the regexp starts with). An attribution at the start of its
// own line, the usual case, fails it and is spared the regexp, whose
// ".*\d.*" backtracks over the whole line.
func replyMayShare(l string) bool {
	for from := 0; ; {
		i := strings.Index(l[from:], "On ")
		if i < 0 {
			return false
		}
		i += from
		if strings.TrimLeft(l[:i], "\t\n\f\r ") != "" {
			return true
		}
		from = i + 1
	}
}

var replySharedRe = regexp.MustCompile(`\S[ \t]*-*[ \t]*(On [A-Z][a-z]{2},? .*\d.* (wrote|sent):)[ \t]*$`)

// replySplitterAt reports how many lines starting at i form a splitter:
// an attribution line ("On ... wrote:", in the corpus's languages, possibly
// wrapped over up to four lines), an "-----Original Message-----" line, or
// a header block ("From: / Sent: / To: / Subject:"). 0 means none.
func replySplitterAt(lines []string, i int) int {
	l := lines[i]
	if replyMayBeOriginal(l) && replyOriginalRe.MatchString(l) {
		return 1
	}
	if n := replyHeaderBlockAt(lines, i); n > 0 {
		return n
	}
	return replyAttributionAt(lines, i)
}

// replyAttributionAt matches an attribution over lines[i:i+n] for the
// smallest n.
func replyAttributionAt(lines []string, i int) int {
	first := strings.TrimSpace(lines[i])
	if len(first) > 300 {
		return 0
	}
	// Polymail and others break the attribution over empty lines; allow
	// that only after an "On <date>" opening.
	dated := replyHasDate(first)
	allowEmpty := dated && strings.HasPrefix(first, "On ")
	maxLines := 4
	if allowEmpty {
		maxLines = 6
	}
	// Only an opening that looks like the start of an attribution (a date,
	// or a lead word such as "On", "Am", "Le") may continue on further
	// lines; otherwise the last line of the reply would be taken in.
	if !dated && !replyHasLead(first) {
		maxLines = 1
	}
	// joined is the candidate so far, its lines joined by spaces; most
	// candidates are one line, which needs no copy.
	joined := first
	for n := 1; n <= maxLines && i+n-1 < len(lines); n++ {
		if n > 1 {
			l := strings.TrimSpace(lines[i+n-1])
			switch {
			case l == "":
				if !allowEmpty {
					return 0
				}
				continue
			case strings.HasPrefix(l, ">") && !replyIsTail(l):
				return 0
			}
			joined += " " + l
		}
		if len(joined) > 500 {
			return 0
		}
		if replyIsAttribution(joined, lines, i+n) {
			// The end of the attribution wrapped onto a line of its own
			// that looks like a quote (">:", "> wrote:"): take it in.
			if i+n < len(lines) && replyIsTail(lines[i+n]) {
				n++
			}
			return n
		}
	}
	return 0
}

// replyIsTail reports whether l is the wrapped end of an attribution:
// short, starting with ">" and ending with ":".
func replyIsTail(l string) bool {
	l = strings.TrimSpace(l)
	return strings.HasPrefix(l, ">") && len(l) <= 12 && strings.HasSuffix(l, ":")
}

// replyIsAttribution judges a (joined) candidate attribution line; next is
// the index of the line after it.
func replyIsAttribution(s string, lines []string, next int) bool {
	dashed := strings.HasPrefix(s, "--") || strings.HasSuffix(s, "--")
	s = strings.Trim(s, "-–— \t*")
	if s == "" {
		return false
	}
	hasAt := strings.Contains(s, "@")
	dateish := replyHasDate(s)
	nextQuote := func() bool {
		for j := next; j < len(lines) && j < next+3; j++ {
			t := strings.TrimSpace(lines[j])
			if t == "" {
				continue
			}
			return strings.HasPrefix(t, ">")
		}
		return false
	}
	if replyEndsWithVerb(s) {
		return hasAt || dateish || dashed || nextQuote()
	}
	if !strings.HasSuffix(s, ":") && !strings.HasSuffix(s, ">") {
		return false
	}
	if hasAt && dateish && strings.HasSuffix(s, ":") && replyVerbRe.MatchString(s) {
		return true
	}
	if hasAt && dateish && replyAddrEndRe.MatchString(s) {
		return strings.HasSuffix(s, ":") || nextQuote()
	}
	return false
}

// replyHeaderBlockAt matches a quoted mail's header block as Outlook and
// others write it: at least two different fields among From, Sent/Date,
// To, Cc and Subject (in the corpus's languages) on consecutive lines,
// starting with From or Sent/Date, and including From or Date with To or
// Subject. Wrapped values may continue on up to two lines.
func replyHeaderBlockAt(lines []string, i int) int {
	g := replyHeaderKey(lines[i])
	if g != 'f' && g != 'd' {
		return 0
	}
	seen := map[byte]bool{g: true}
	n, cont := 1, 0
	for j := i + 1; j < len(lines) && j < i+12; j++ {
		l := lines[j]
		if strings.TrimSpace(l) == "" {
			break
		}
		if k := replyHeaderKey(l); k != 0 {
			seen[k] = true
			cont = 0
			n = j - i + 1
			continue
		}
		cont++
		if cont > 2 {
			break
		}
	}
	if len(seen) < 2 || !(seen['f'] || (seen['d'] && (seen['t'] || seen['s']))) {
		return 0
	}
	return n
}

// replyHeaderKey classifies a header-like line by its field: 'f' from,
// 'd' date/sent, 't' to, 'c' cc, 's' subject, 0 none.
func replyHeaderKey(l string) byte {
	i := strings.IndexByte(l, ':')
	if i < 0 || i > 48 {
		return 0
	}
	// replyHeaderRe allows only letters, white space and "*" before the
	// colon (the first one, as none of those is a colon): a digit or
	// punctuation there, as in most lines with a colon, rules it out.
	for j := 0; j < i; j++ {
		switch c := l[j]; {
		case c >= utf8.RuneSelf, 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == ' ', c == '\t', c == '\n', c == '\f', c == '\r', c == '*':
		default:
			return 0
		}
	}
	m := replyHeaderRe.FindStringSubmatch(l)
	if m == nil {
		return 0
	}
	k := strings.ToLower(strings.Join(strings.Fields(m[1]), " "))
	return replyHeaderKeys[k]
}

var replyHeaderKeys = func() map[string]byte {
	m := map[string]byte{}
	add := func(g byte, keys ...string) {
		for _, k := range keys {
			m[k] = g
		}
	}
	add('f', "from", "de", "von", "van", "da", "fra", "från", "od", "lähettäjä", "от", "feladó", "kimden", "发件人", "寄件者", "差出人", "van:")
	add('d', "sent", "date", "data", "datum", "dato", "fecha", "envoyé", "envoyé le", "gesendet", "verzonden", "inviato", "enviado", "enviada", "sendt", "skickat", "wysłano", "wysłane", "lähetetty", "отправлено", "дата", "elküldve", "dátum", "tarih", "gönderildi", "gönderilme", "发送时间", "日期", "送信日時", "message du", "päivämäärä")
	add('t', "to", "à", "a", "an", "aan", "para", "til", "till", "do", "vastaanottaja", "кому", "címzett", "kime", "收件人", "宛先", "per")
	add('c', "cc", "kopie", "copie à", "copie", "copia", "kopio", "копия", "másolat", "bilgi", "抄送", "kopi", "kopia")
	add('s', "subject", "objet", "betreff", "onderwerp", "oggetto", "asunto", "assunto", "emne", "ämne", "temat", "aihe", "тема", "tárgy", "konu", "主题", "主旨", "件名", "sujet")
	return m
}()

// replyHeaderRe matches "Key:" at the start of a line, with the bold
// markers html2text and Outlook's plain rendering add ("*From:*") and the
// French space before the colon ("De :").
var replyHeaderRe = regexp.MustCompile(`^\s*\*{0,2}\s*([\p{L} ]{1,20}?)\s*\*{0,2}\s*:`)

// replyOriginalPhrases are the words of the separator lines Outlook and
// others put above a quoted mail ("-----Original Message-----").
var replyOriginalPhrases = []string{
	"original message", "reply message", "ursprüngliche nachricht", "antwort nachricht", "originalnachricht",
	"oprindelig meddelelse", "oprindelig besked", "opprinnelig melding", "ursprungligt meddelande",
	"message d'origine", "message original", "mensaje original", "messaggio originale",
	"oorspronkelijk bericht", "origineel bericht", "mensagem original", "wiadomość oryginalna",
	"alkuperäinen viesti", "исходное сообщение", "původní zpráva", "eredeti üzenet", "orijinal mesaj",
	"原始邮件", "元のメッセージ",
}

// replyOriginalRe matches Outlook's and others' separator lines: one of
// replyOriginalPhrases, in any case, between separator characters.
var replyOriginalRe = regexp.MustCompile(`(?i)^\s*[-_=*\s]*(` + parseAlternation(replyOriginalPhrases) + `)[-_=*\s]*:?\s*$`)

// replyOriginalFirst holds the runes a line that replyOriginalRe matches
// can start with once its leading separators are skipped: the first
// letters of the phrases in every case (the case folding of (?i)).
var replyOriginalFirst = replyFoldSet(replyOriginalPhrases)

// replyOriginalLast holds the runes such a line can end with once its
// trailing separators, and a colon among them, are cut off: the last
// letters of the phrases in every case.
var replyOriginalLast = func() map[rune]bool {
	last := make([]string, len(replyOriginalPhrases))
	for i, p := range replyOriginalPhrases {
		_, n := utf8.DecodeLastRuneInString(p)
		last[i] = p[len(p)-n:]
	}
	return replyFoldSet(last)
}()

// replyMayBeOriginal is a cheap test that must pass for replyOriginalRe
// to match l: past the leading white space and separator characters the
// line starts with the first letter of a phrase, and before the trailing
// ones (`[-_=*\s]*:?\s*$`) it ends with the last letter of one. Most
// lines fail it and are spared the regexp.
func replyMayBeOriginal(l string) bool {
	i := 0
	for i < len(l) && replyIsSeparatorByte(l[i]) {
		i++
	}
	if i == len(l) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(l[i:])
	if !replyOriginalFirst[r] {
		return false
	}
	t := strings.TrimRight(l, "\t\n\f\r ")
	t = strings.TrimSuffix(t, ":")
	t = strings.TrimRight(t, "-_=*\t\n\f\r ")
	r, _ = utf8.DecodeLastRuneInString(t)
	return replyOriginalLast[r]
}

// replyIsSeparatorByte reports whether c is in the class [-_=*\s] of
// replyOriginalRe (\s being [\t\n\f\r ]).
func replyIsSeparatorByte(c byte) bool {
	switch c {
	case '-', '_', '=', '*', '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

// replyFoldSet returns the first runes of phrases with every rune they
// match under simple case folding, as (?i) in a regexp does.
func replyFoldSet(phrases []string) map[rune]bool {
	set := map[rune]bool{}
	for _, p := range phrases {
		r, _ := utf8.DecodeRuneInString(p)
		set[r] = true
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			set[f] = true
		}
	}
	return set
}

// replyForwardDashed are the forwarded-message markers written between
// dashes ("---------- Forwarded message ---------"), replyForwardBegin
// those ending in a colon ("Begin forwarded message:").
var (
	replyForwardDashed = []string{
		"forwarded message", "weitergeleitete nachricht", "message transféré", "mensaje reenviado",
		"messaggio inoltrato", "doorgestuurd bericht", "videresendt meddelelse", "videresendt melding",
		"vidarebefordrat meddelande", "välitetty viesti", "wiadomość przekazana", "пересланное сообщение",
		"mensagem encaminhada",
	}
	replyForwardBegin = []string{
		"begin forwarded message", "anfang der weitergeleiteten nachricht", "début du message réexpédié",
		"inicio del mensaje reenviado",
	}
)

// replyForwardRe matches forwarded-message markers, in any case.
var replyForwardRe = regexp.MustCompile(`(?i)^\s*(-{2,}\s*(` + parseAlternation(replyForwardDashed) + `)\s*-*|(` +
	parseAlternation(replyForwardBegin) + `)\s*:)\s*$`)

// replyForwardFirst holds the runes a replyForwardBegin marker can start
// with, in every case.
var replyForwardFirst = replyFoldSet(replyForwardBegin)

// replyMayBeForward is a cheap test that must pass for replyForwardRe to
// match l: without the white space around it, the line starts with two
// dashes, or it ends with a colon and starts with the first letter of a
// replyForwardBegin marker.
func replyMayBeForward(l string) bool {
	t := strings.Trim(l, "\t\n\f\r ")
	if strings.HasPrefix(t, "--") {
		return true
	}
	if !strings.HasSuffix(t, ":") {
		return false
	}
	r, _ := utf8.DecodeRuneInString(t)
	return replyForwardFirst[r]
}

// replySeparatorRe matches lines that only separate: dashes, underscores,
// equal signs.
var replySeparatorRe = regexp.MustCompile(`^[-_=*~ \t]*[-_=*~]{2,}[-_=*~ \t]*$`)

// replyUnderscoreRe matches a line of underscores (list footers, Outlook
// web's separator).
var replyUnderscoreRe = regexp.MustCompile(`^\s*_{2,}\s*$`)

// replyMobileRe matches the one-line signatures of mobile clients and
// webmail ("Sent from my iPhone", "Get Outlook for iOS", "Von meinem
// iPhone gesendet"): short, with no sentence punctuation.
var replyMobileRe = regexp.MustCompile(`(?i)^(sent from my( [\p{L}\p{N}-]+){1,5}|sent (from|with|via) [\p{L}\p{N}]+( [\p{L}\p{N}]+){0,4}|sent from (yahoo|mail|outlook|samsung|my)\b[^,.!?]{0,40}|get outlook for (ios|android)|envoyé (de|depuis|à partir de) [^,.!?]{1,40}|gesendet (von|mit) [^,.!?]{1,40}|von meinem [^,.!?]{1,30} gesendet|enviado (desde|de) [^,.!?]{1,40}|inviato da [^,.!?]{1,40}|verstuurd (vanaf|met) [^,.!?]{1,40}|verzonden (vanaf|met) [^,.!?]{1,40}|skickat från [^,.!?]{1,40}|sendt fra [^,.!?]{1,40}|wysłane (z|ze) [^,.!?]{1,40}|отправлено (с|из) [^,.!?]{1,40})\s*(<[^>\s]*>)?\.?$`)

// replyMobileStart is a cheap filter before replyMobileRe: the first
// letters of the signatures it knows.
func replyMobileStart(l string) bool {
	if len(l) < 4 {
		return false
	}
	switch strings.ToLower(l[:3]) {
	case "sen", "get", "env", "ges", "von", "inv", "ver", "ski", "wys", "\xd0\xbe\xd1", "\xd0\x9e\xd1":
		return true
	}
	return false
}

// replyVerbs are the "wrote" of attribution lines, lower case; the last
// word is what replyEndsWithVerb looks for.
var replyVerbs = map[string]bool{
	"wrote": true, "writes": true, "sent": true, "pisze": true, "пишет": true, "schreibt": true,
	"schrieb": true, "écrit": true, "ecrit": true, "escribió": true, "escribio": true, "scritto": true,
	"schreef": true, "geschreven": true, "napisał(a)": true, "napisała": true, "napisał": true,
	"escreveu": true, "skrev": true, "kirjoitti": true, "написал(а)": true, "написала": true,
	"написал": true, "viết": true, "yazdı": true, "napsal(a)": true, "napsala": true, "napsal": true,
	"írta": true,
}

// replyEndsWithVerb reports whether s ends with one of replyVerbs,
// optionally followed by a colon ("... wrote:", "...>wrote:", "写道：").
func replyEndsWithVerb(s string) bool {
	s = strings.TrimRight(s, " \t:：")
	if strings.HasSuffix(s, "写道") || strings.HasSuffix(s, "のメッセージ") {
		return true
	}
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsLetter(r) && r != '(' && r != ')' {
			break
		}
		i -= n
	}
	return replyVerbs[strings.ToLower(s[i:])]
}

// replyVerbRe finds a verb anywhere in an attribution ("Op ... schreef
// X <x@y>:").
const replyVerbAlt = `wrote|writes|sent|pisze|пишет|schreibt|schrieb|a\s+écrit|a\s+ecrit|escribió|escribio|ha\s+scritto|schreef|geschreven|napisał\(a\)|napisała|napisał|escreveu|skrev|kirjoitti|написал\(а\)|написала|написал|đã viết|yazdı|napsal\(a\)|napsala|napsal|írta|写道|のメッセージ`

var (
	replyVerbRe = regexp.MustCompile(`(?i)(^|[\s>)"'])(` + replyVerbAlt + `)(\s|:|$)`)
	// replyAddrEndRe matches an attribution that ends with an address.
	replyAddrEndRe = regexp.MustCompile(`(@[^\s]+|[>)\]"])\s*:?$`)
)

// replyHasDate reports whether s holds a time ("9:02", "16.30"), a numeric
// date ("04/03/2024", "2024-03-04") or a year ("2024" on its own): in
// regexp terms `\d{1,2}[:.]\d{2}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\b(19|20)\d{2}\b`.
// It is written out because it runs on every line of text that might
// open an attribution, several times.
func replyHasDate(s string) bool {
	for i := 0; i < len(s); i++ {
		if !parseIsDigit(s[i]) {
			continue
		}
		// Where a time or a date matches, it also matches from the last
		// digit of its first number, as a first number of one digit is
		// allowed and nothing before it is asked for: trying each digit
		// as a one-digit first number finds every match. A year needs a
		// word boundary before it.
		rest := s[i+1:]
		if len(rest) >= 3 && (rest[0] == ':' || rest[0] == '.') && parseIsDigit(rest[1]) && parseIsDigit(rest[2]) {
			return true // time
		}
		if len(rest) >= 3 && replyDateSep(rest[0]) && parseIsDigit(rest[1]) {
			// Day or month of one or two digits, a separator, a digit.
			if replyDateSep(rest[2]) && len(rest) >= 4 && parseIsDigit(rest[3]) {
				return true
			}
			if len(rest) >= 5 && parseIsDigit(rest[2]) && replyDateSep(rest[3]) && parseIsDigit(rest[4]) {
				return true
			}
		}
		if (s[i] == '1' || s[i] == '2') && len(rest) >= 3 && (i == 0 || !parseIsWordByte(s[i-1])) &&
			(s[i] == '1' && rest[0] == '9' || s[i] == '2' && rest[0] == '0') &&
			parseIsDigit(rest[1]) && parseIsDigit(rest[2]) && (len(rest) == 3 || !parseIsWordByte(rest[3])) {
			return true // year
		}
	}
	return false
}

func replyDateSep(c byte) bool { return c == '/' || c == '.' || c == '-' }

// replyLeadWords are the words attribution lines open with.
var replyLeadWords = []string{"On", "Am", "Le", "El", "Il", "In data", "Op", "Em", "Den", "På", "W dniu", "Dnia", "Vào", "Dne", "Στις"}

// replyHasLead reports whether s opens with one of replyLeadWords, a
// space and a character other than white space: in regexp terms
// `^(On|Am|...) \S`, with \S anything but [\t\n\f\r ].
func replyHasLead(s string) bool {
	for _, w := range replyLeadWords {
		if len(s) > len(w)+1 && strings.HasPrefix(s, w) && s[len(w)] == ' ' {
			switch s[len(w)+1] {
			case ' ', '\t', '\n', '\f', '\r':
			default:
				return true
			}
		}
	}
	return false
}
