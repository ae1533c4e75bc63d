// This file is reply.go as it was before its regexps got cheap
// prefilters and written-out equivalents, kept verbatim with its names
// prefixed "ref" as the reference the tests of reply_equiv_test.go hold
// StripReply and its line tests to. Do not change it to follow reply.go.
//
// When the behaviour is meant to change (a rule tuned, a case fixed),
// delete this reference and the equivalence tests and fuzz target that use
// it (and their line in .ci/fuzz) rather than editing both: they exist to
// show that the speed-ups of 2026-11-22 changed no result.

package mailbox

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// refStripReply returns the new text of a plain-text mail body: the text
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
func refStripReply(text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	lines = refReplySplitSharedLines(lines)
	units := refReplyClassify(lines)
	keep := refReplyDecide(units)
	var b strings.Builder
	for _, u := range units[:keep.end] {
		if u.kind == refReplySignature || keep.drop[u.start] {
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
	refReplyText      = 't'
	refReplyEmpty     = 'e'
	refReplyQuote     = 'm'
	refReplySplitter  = 's'
	refReplyForward   = 'f'
	refReplySignature = 'g'
)

// refReplyUnit is one classified line, or several lines of one splitter.
type refReplyUnit struct {
	kind       byte
	start, end int // line range [start, end)
}

type refReplyKeep struct {
	end  int          // units[:end] are kept
	drop map[int]bool // start lines of units dropped inside the kept range
}

// refReplyMaxLines bounds the work on pathological bodies; lines beyond it
// are treated as text (talon does the same with its MAX_LINES_COUNT).
const refReplyMaxLines = 3000

func refReplyClassify(lines []string) []refReplyUnit {
	units := make([]refReplyUnit, 0, len(lines))
	for i := 0; i < len(lines); {
		l := lines[i]
		trim := strings.TrimSpace(l)
		switch {
		case trim == "":
			units = append(units, refReplyUnit{refReplyEmpty, i, i + 1})
			i++
			continue
		case i >= refReplyMaxLines:
			units = append(units, refReplyUnit{refReplyText, i, i + 1})
			i++
			continue
		case strings.HasPrefix(trim, ">"):
			units = append(units, refReplyUnit{refReplyQuote, i, i + 1})
			i++
			continue
		case refReplyForwardRe.MatchString(l):
			units = append(units, refReplyUnit{refReplyForward, i, i + 1})
			i++
			continue
		}
		if n := refReplySplitterAt(lines, i); n > 0 {
			// A header block may be introduced by separator lines
			// ("____", "-----Original Message-----", "Message du : ...")
			// already classified as text or splitter: take them in.
			for k := len(units) - 1; k >= 0; k-- {
				u := units[k]
				if u.kind == refReplyEmpty {
					continue
				}
				if u.kind == refReplySplitter || (u.kind == refReplyText && refReplySeparatorRe.MatchString(lines[u.start])) {
					n += i - u.start
					i = u.start
					units = units[:k]
					continue
				}
				break
			}
			units = append(units, refReplyUnit{refReplySplitter, i, i + n})
			i += n
			continue
		}
		units = append(units, refReplyUnit{refReplyText, i, i + 1})
		i++
	}
	refReplyQuoteContinuations(units, lines)
	refReplyMarkSignatures(units, lines)
	return units
}

// refReplyQuoteContinuations marks as quote a single text line sandwiched
// between quote lines when it continues the quote line before it: the
// client wrapped a long quoted line (or a long link) and lost the marker
// on the wrapped part. A one-line inline answer is told apart by the
// quote before it being short and link-free.
func refReplyQuoteContinuations(units []refReplyUnit, lines []string) {
	for k := 1; k+1 < len(units); k++ {
		if units[k].kind != refReplyText || units[k-1].kind != refReplyQuote || units[k+1].kind != refReplyQuote {
			continue
		}
		prev, cur := lines[units[k-1].start], strings.TrimSpace(lines[units[k].start])
		if utf8.RuneCountInString(prev) >= 60 || strings.Contains(prev, "(http") || strings.Contains(prev, "<http") ||
			strings.HasPrefix(cur, "(http") || strings.HasPrefix(cur, "<http") {
			units[k].kind = refReplyQuote
		}
	}
}

// refReplyMarkSignatures marks signature blocks among the unquoted text: from
// a "-- " delimiter (RFC 3676 §4.3) or a line of underscores (list
// footers) up to the next quote or splitter, when the block is short
// enough to be a signature; and from a mobile client's "Sent from my
// iPhone" line to the end, since what such clients put below it is the
// unquoted history.
func refReplyMarkSignatures(units []refReplyUnit, lines []string) {
	seenText := false
	for k := 0; k < len(units); k++ {
		u := units[k]
		if u.kind != refReplyText {
			continue
		}
		l := strings.TrimSpace(lines[u.start])
		if len(l) <= 120 && refReplyMobileStart(l) && refReplyMobileRe.MatchString(l) {
			for j := k; j < len(units); j++ {
				units[j].kind = refReplySignature
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
		case refReplyUnderscoreRe.MatchString(l):
			limit = 15
		default:
			continue
		}
		end, nonEmpty := k, 0
		for end < len(units) && (units[end].kind == refReplyText || units[end].kind == refReplyEmpty) {
			if units[end].kind == refReplyText {
				nonEmpty++
			}
			end++
		}
		if nonEmpty > limit {
			continue
		}
		for j := k; j < end; j++ {
			units[j].kind = refReplySignature
		}
		k = end - 1
	}
}

// refReplyDecide chooses which units to keep from the shape of the marker
// sequence.
func refReplyDecide(units []refReplyUnit) refReplyKeep {
	markers := make([]byte, len(units))
	for i, u := range units {
		markers[i] = u.kind
	}
	keep := refReplyKeep{end: len(units)}

	firstF := strings.IndexByte(string(markers), refReplyForward)
	firstQS := strings.IndexAny(string(markers), "ms")
	if firstF >= 0 && (firstQS < 0 || firstF < firstQS) {
		// A forward with a comment above it: the forwarded mail is the
		// content. Keep everything, signatures of the writer aside.
		for i := range markers {
			if markers[i] == refReplySignature {
				units[i].kind = refReplyText
			}
		}
		return keep
	}
	// Without a splitter, fewer than three quoted lines are text (a quoted
	// command line, ">>> " in a log), not a quotation.
	if !strings.ContainsRune(string(markers), refReplySplitter) && strings.Count(string(markers), "m") < 3 {
		for i := range markers {
			if markers[i] == refReplyQuote {
				markers[i] = refReplyText
				units[i].kind = refReplyText
			}
		}
	}
	// A splitter followed by unquoted text (Outlook, and every client
	// once the quote markers are gone): everything from there is history.
	if loc := refReplyCutRe.FindIndex(markers); loc != nil {
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
		if markers[i] != refReplyQuote && markers[i] != refReplySplitter {
			continue
		}
		j := i
		for j+1 < keep.end && strings.IndexByte("mse", markers[j+1]) >= 0 {
			j++
		}
		for markers[j] == refReplyEmpty {
			j--
		}
		blocks = append(blocks, block{i, j + 1})
		i = j
	}
	if len(blocks) == 1 {
		b := blocks[0]
		before := strings.ContainsRune(string(markers[:b.from]), refReplyText)
		after := 0
		for i := b.to; i < keep.end; i++ {
			if markers[i] == refReplyText {
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
			for to < keep.end && markers[to] == refReplyEmpty {
				to++ // and the empty lines that set it off below
			}
			for i := b.from; i < to; i++ {
				keep.drop[units[i].start] = true
			}
		}
	}
	return keep
}

// refReplyCutRe finds a splitter followed by unquoted text or a forward.
var refReplyCutRe = regexp.MustCompile(`s[se]*[tf]`)

// refReplySplitSharedLines splits a line in which the reply and the
// attribution share a line ("reply On Wed, Apr 4, 2012 at 3:59 PM, bob
// wrote:"), as some clients produce when they rewrap.
func refReplySplitSharedLines(lines []string) []string {
	var out []string
	for i, l := range lines {
		if !strings.Contains(l, "On ") || !(strings.HasSuffix(strings.TrimRight(l, " \t"), "wrote:") || strings.HasSuffix(strings.TrimRight(l, " \t"), "sent:")) {
			if out != nil {
				out = append(out, l)
			}
			continue
		}
		if m := refReplySharedRe.FindStringSubmatchIndex(l); m != nil && strings.TrimSpace(l[:m[2]]) != "" && !strings.HasPrefix(strings.TrimSpace(l), ">") {
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

var refReplySharedRe = regexp.MustCompile(`\S[ \t]*-*[ \t]*(On [A-Z][a-z]{2},? .*\d.* (wrote|sent):)[ \t]*$`)

// refReplySplitterAt reports how many lines starting at i form a splitter:
// an attribution line ("On ... wrote:", in the corpus's languages, possibly
// wrapped over up to four lines), an "-----Original Message-----" line, or
// a header block ("From: / Sent: / To: / Subject:"). 0 means none.
func refReplySplitterAt(lines []string, i int) int {
	l := lines[i]
	if refReplyOriginalRe.MatchString(l) {
		return 1
	}
	if n := refReplyHeaderBlockAt(lines, i); n > 0 {
		return n
	}
	return refReplyAttributionAt(lines, i)
}

// refReplyAttributionAt matches an attribution over lines[i:i+n] for the
// smallest n.
func refReplyAttributionAt(lines []string, i int) int {
	first := strings.TrimSpace(lines[i])
	if len(first) > 300 {
		return 0
	}
	// Polymail and others break the attribution over empty lines; allow
	// that only after an "On <date>" opening.
	allowEmpty := strings.HasPrefix(first, "On ") && refReplyDateRe.MatchString(first)
	maxLines := 4
	if allowEmpty {
		maxLines = 6
	}
	// Only an opening that looks like the start of an attribution (a date,
	// or a lead word such as "On", "Am", "Le") may continue on further
	// lines; otherwise the last line of the reply would be taken in.
	if !refReplyDateRe.MatchString(first) && !refReplyLeadRe.MatchString(first) {
		maxLines = 1
	}
	var joined strings.Builder
	for n := 1; n <= maxLines && i+n-1 < len(lines); n++ {
		l := strings.TrimSpace(lines[i+n-1])
		if n > 1 {
			switch {
			case l == "":
				if !allowEmpty {
					return 0
				}
				continue
			case strings.HasPrefix(l, ">") && !refReplyIsTail(l):
				return 0
			}
			joined.WriteByte(' ')
		}
		joined.WriteString(l)
		if joined.Len() > 500 {
			return 0
		}
		if refReplyIsAttribution(joined.String(), lines, i+n) {
			// The end of the attribution wrapped onto a line of its own
			// that looks like a quote (">:", "> wrote:"): take it in.
			if i+n < len(lines) && refReplyIsTail(lines[i+n]) {
				n++
			}
			return n
		}
	}
	return 0
}

// refReplyIsTail reports whether l is the wrapped end of an attribution:
// short, starting with ">" and ending with ":".
func refReplyIsTail(l string) bool {
	l = strings.TrimSpace(l)
	return strings.HasPrefix(l, ">") && len(l) <= 12 && strings.HasSuffix(l, ":")
}

// refReplyIsAttribution judges a (joined) candidate attribution line; next is
// the index of the line after it.
func refReplyIsAttribution(s string, lines []string, next int) bool {
	dashed := strings.HasPrefix(s, "--") || strings.HasSuffix(s, "--")
	s = strings.Trim(s, "-–— \t*")
	if s == "" {
		return false
	}
	hasAt := strings.Contains(s, "@")
	dateish := refReplyDateRe.MatchString(s)
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
	if refReplyEndsWithVerb(s) {
		return hasAt || dateish || dashed || nextQuote()
	}
	if !strings.HasSuffix(s, ":") && !strings.HasSuffix(s, ">") {
		return false
	}
	if hasAt && dateish && strings.HasSuffix(s, ":") && refReplyVerbRe.MatchString(s) {
		return true
	}
	if hasAt && dateish && refReplyAddrEndRe.MatchString(s) {
		return strings.HasSuffix(s, ":") || nextQuote()
	}
	return false
}

// refReplyHeaderBlockAt matches a quoted mail's header block as Outlook and
// others write it: at least two different fields among From, Sent/Date,
// To, Cc and Subject (in the corpus's languages) on consecutive lines,
// starting with From or Sent/Date, and including From or Date with To or
// Subject. Wrapped values may continue on up to two lines.
func refReplyHeaderBlockAt(lines []string, i int) int {
	g := refReplyHeaderKey(lines[i])
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
		if k := refReplyHeaderKey(l); k != 0 {
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

// refReplyHeaderKey classifies a header-like line by its field: 'f' from,
// 'd' date/sent, 't' to, 'c' cc, 's' subject, 0 none.
func refReplyHeaderKey(l string) byte {
	if i := strings.IndexByte(l, ':'); i < 0 || i > 48 {
		return 0
	}
	m := refReplyHeaderRe.FindStringSubmatch(l)
	if m == nil {
		return 0
	}
	k := strings.ToLower(strings.Join(strings.Fields(m[1]), " "))
	return refReplyHeaderKeys[k]
}

var refReplyHeaderKeys = func() map[string]byte {
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

// refReplyHeaderRe matches "Key:" at the start of a line, with the bold
// markers html2text and Outlook's plain rendering add ("*From:*") and the
// French space before the colon ("De :").
var refReplyHeaderRe = regexp.MustCompile(`^\s*\*{0,2}\s*([\p{L} ]{1,20}?)\s*\*{0,2}\s*:`)

// refReplyOriginalRe matches Outlook's and others' separator lines.
var refReplyOriginalRe = regexp.MustCompile(`(?i)^\s*[-_=*\s]*(original message|reply message|ursprüngliche nachricht|antwort nachricht|originalnachricht|oprindelig meddelelse|oprindelig besked|opprinnelig melding|ursprungligt meddelande|message d'origine|message original|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|mensagem original|wiadomość oryginalna|alkuperäinen viesti|исходное сообщение|původní zpráva|eredeti üzenet|orijinal mesaj|原始邮件|元のメッセージ)[-_=*\s]*:?\s*$`)

// refReplyForwardRe matches forwarded-message markers.
var refReplyForwardRe = regexp.MustCompile(`(?i)^\s*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|videresendt meddelelse|videresendt melding|vidarebefordrat meddelande|välitetty viesti|wiadomość przekazana|пересланное сообщение|mensagem encaminhada)\s*-*|(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado)\s*:)\s*$`)

// refReplySeparatorRe matches lines that only separate: dashes, underscores,
// equal signs.
var refReplySeparatorRe = regexp.MustCompile(`^[-_=*~ \t]*[-_=*~]{2,}[-_=*~ \t]*$`)

// refReplyUnderscoreRe matches a line of underscores (list footers, Outlook
// web's separator).
var refReplyUnderscoreRe = regexp.MustCompile(`^\s*_{2,}\s*$`)

// refReplyMobileRe matches the one-line signatures of mobile clients and
// webmail ("Sent from my iPhone", "Get Outlook for iOS", "Von meinem
// iPhone gesendet"): short, with no sentence punctuation.
var refReplyMobileRe = regexp.MustCompile(`(?i)^(sent from my( [\p{L}\p{N}-]+){1,5}|sent (from|with|via) [\p{L}\p{N}]+( [\p{L}\p{N}]+){0,4}|sent from (yahoo|mail|outlook|samsung|my)\b[^,.!?]{0,40}|get outlook for (ios|android)|envoyé (de|depuis|à partir de) [^,.!?]{1,40}|gesendet (von|mit) [^,.!?]{1,40}|von meinem [^,.!?]{1,30} gesendet|enviado (desde|de) [^,.!?]{1,40}|inviato da [^,.!?]{1,40}|verstuurd (vanaf|met) [^,.!?]{1,40}|verzonden (vanaf|met) [^,.!?]{1,40}|skickat från [^,.!?]{1,40}|sendt fra [^,.!?]{1,40}|wysłane (z|ze) [^,.!?]{1,40}|отправлено (с|из) [^,.!?]{1,40})\s*(<[^>\s]*>)?\.?$`)

// refReplyMobileStart is a cheap filter before refReplyMobileRe: the first
// letters of the signatures it knows.
func refReplyMobileStart(l string) bool {
	if len(l) < 4 {
		return false
	}
	switch strings.ToLower(l[:3]) {
	case "sen", "get", "env", "ges", "von", "inv", "ver", "ski", "wys", "\xd0\xbe\xd1", "\xd0\x9e\xd1":
		return true
	}
	return false
}

// refReplyVerbs are the "wrote" of attribution lines, lower case; the last
// word is what refReplyEndsWithVerb looks for.
var refReplyVerbs = map[string]bool{
	"wrote": true, "writes": true, "sent": true, "pisze": true, "пишет": true, "schreibt": true,
	"schrieb": true, "écrit": true, "ecrit": true, "escribió": true, "escribio": true, "scritto": true,
	"schreef": true, "geschreven": true, "napisał(a)": true, "napisała": true, "napisał": true,
	"escreveu": true, "skrev": true, "kirjoitti": true, "написал(а)": true, "написала": true,
	"написал": true, "viết": true, "yazdı": true, "napsal(a)": true, "napsala": true, "napsal": true,
	"írta": true,
}

// refReplyEndsWithVerb reports whether s ends with one of refReplyVerbs,
// optionally followed by a colon ("... wrote:", "...>wrote:", "写道：").
func refReplyEndsWithVerb(s string) bool {
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
	return refReplyVerbs[strings.ToLower(s[i:])]
}

// refReplyVerbRe finds a verb anywhere in an attribution ("Op ... schreef
// X <x@y>:").
const refReplyVerbAlt = `wrote|writes|sent|pisze|пишет|schreibt|schrieb|a\s+écrit|a\s+ecrit|escribió|escribio|ha\s+scritto|schreef|geschreven|napisał\(a\)|napisała|napisał|escreveu|skrev|kirjoitti|написал\(а\)|написала|написал|đã viết|yazdı|napsal\(a\)|napsala|napsal|írta|写道|のメッセージ`

var (
	refReplyVerbRe = regexp.MustCompile(`(?i)(^|[\s>)"'])(` + refReplyVerbAlt + `)(\s|:|$)`)
	// refReplyDateRe matches a time, a numeric date or a year.
	refReplyDateRe = regexp.MustCompile(`\d{1,2}[:.]\d{2}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\b(19|20)\d{2}\b`)
	// refReplyLeadRe matches the words attribution lines open with.
	refReplyLeadRe = regexp.MustCompile(`^(On|Am|Le|El|Il|In data|Op|Em|Den|På|W dniu|Dnia|Vào|Dne|Στις|Em) \S`)
	// refReplyAddrEndRe matches an attribution that ends with an address.
	refReplyAddrEndRe = regexp.MustCompile(`(@[^\s]+|[>)\]"])\s*:?$`)
)
