package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	// RFC 2047 headers and text parts come in every charset; this import
	// registers go-message's charset table (without it even ISO-8859-1
	// fails).
	_ "github.com/emersion/go-message/charset"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// DefaultMaxAttachmentSize is the attachment size limit used when
// ParseOptions.MaxAttachmentSize is zero: 25 MiB, what the large mail
// providers accept.
const DefaultMaxAttachmentSize = 25 << 20

// maxMIMEDepth bounds multipart nesting; deeper parts are kept only in Raw.
const maxMIMEDepth = 32

// syntheticIDDomain is the right-hand side of the Message-ID given to mail
// that came without one.
const syntheticIDDomain = "synthetic.helpdeskd"

// ParseOptions tunes Parse.
type ParseOptions struct {
	// MaxAttachmentSize is the largest decoded attachment kept, in bytes;
	// a larger file is dropped (Data nil, Dropped says why) but the mail is
	// kept. 0 means DefaultMaxAttachmentSize; a negative value drops every
	// attachment's content.
	MaxAttachmentSize int64
	// TextLimit is how much text Message.Text keeps, in bytes (see
	// MaxText). 0 means MaxText; a negative value keeps all of it, for a
	// reader who asked for the whole text (helpdeskd show -full).
	TextLimit int64
}

// MaxAttachments is how many attachments (inline parts included) one mail
// keeps; the rest are counted in Message.AttachmentsOmitted and read no
// further. A 10 MB mail of 100,000 tiny parts must not become 100,000
// rows.
const MaxAttachments = 200

// MaxText is how much text, in bytes, one mail keeps in Message.Text: the
// first MiB, cut at the end of a line (of HTML, 8 MiB are read).
// The rest is counted in Message.TextOmitted and never held in memory; the
// raw mail keeps it all. A 30 MB log pasted into a mail must not become
// 30 MB of text to triage, strip, store twice and mail to every agent.
const MaxText = 1 << 20

// htmlPerText is how many bytes of HTML are read per byte of text kept:
// markup, styles and pictures inlined as data: URIs can come before the
// first word, so an HTML-only mail is read to 8 MiB and its text then cut
// to MaxText.
const htmlPerText = 8

// MaxParts is how many MIME entities (the mail itself, every multipart and
// every part) one mail reads; the parts after them are counted in
// Message.PartsOmitted and not read. A 10 MB mail of 100,000 parts must
// not cost 100,000 header parses; a mail of 1,000 attachments still has
// all its parts read (and MaxAttachments of them kept).
const MaxParts = 2000

// ParseError is returned by Parse when nothing usable can be read from a
// mail at all; the caller quarantines it. Reason is short and stable
// enough to log and count.
type ParseError struct {
	Reason string
}

// Error reports the reason, for logs.
func (e *ParseError) Error() string { return "unreadable mail: " + e.Reason }

// errParserPanic marks a ParseError made from a recovered panic, so tests
// and fuzzing can tell a parser bug from an unreadable mail.
const errParserPanic = "parser failure"

// Parse reads one raw RFC 5322 mail into a helpdesk.Message: decoded
// headers, the readable text (HTML-only mail converted), the new part of
// the text without quoted history and signature, the HTML, attachments,
// loop-protection signals (RFC 3834), the delivery report of a bounce
// (RFC 3464) and Authentication-Results (RFC 8601). raw is kept as
// Message.Raw and is not modified; part bodies are decoded from sub-slices
// of it.
//
// Malformed mail is read as far as it goes: every deviation is listed in
// Message.Defects and the mail is returned. Parse returns a *ParseError
// only when there is nothing to make a ticket from: the input is empty or
// white space, or not a single header field can be read from its start
// (so there is no sender and no header/body separation). A panic inside
// the parser is also returned as a *ParseError, so that one poisonous mail
// is quarantined instead of stopping the fetcher.
func Parse(raw []byte, opts ParseOptions) (msg *helpdesk.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, &ParseError{Reason: fmt.Sprintf("%s: %v", errParserPanic, r)}
		}
	}()
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &ParseError{Reason: "empty message"}
	}
	h, body, n, defects := parseHeaderBlock(raw)
	if n == 0 {
		return nil, &ParseError{Reason: "no header fields: not an RFC 5322 message"}
	}
	p := &parser{
		limit:     opts.MaxAttachmentSize,
		msg:       &helpdesk.Message{Raw: raw},
		textLimit: opts.TextLimit,
	}
	switch {
	case p.textLimit == 0:
		p.textLimit = MaxText
	case p.textLimit < 0:
		p.textLimit = math.MaxInt64 / utf8.UTFMax
	}
	p.textBudget = p.textLimit
	p.htmlBudget = p.textLimit * htmlPerText
	if p.textLimit > math.MaxInt64/utf8.UTFMax/htmlPerText {
		p.htmlBudget = p.textLimit
	}
	if p.limit == 0 {
		p.limit = DefaultMaxAttachmentSize
	}
	p.defects = append(p.defects, defects...)

	p.headers(&h)
	var acc parseBody
	p.entity(&h, body, 0, parseCtx{}, &acc)
	p.finishBody(&acc)
	p.msg.AuthResults, p.msg.Received = traceFromHeader(&h)
	p.finishReport(&h, body)
	p.msg.AutoReason, p.msg.Suppress = loopSignals(&h, p.msg)
	p.msg.Spam = spamVerdict(&h)
	if p.msg.AutoReason == "" {
		p.msg.Quiet = quietReason(&h, p.msg)
	}
	if p.msg.AttachmentsOmitted > 0 {
		p.defect("%d attachments not kept: a mail keeps at most %d", p.msg.AttachmentsOmitted, MaxAttachments)
	}
	if p.msg.PartsOmitted > 0 {
		p.defect("%d MIME parts not read: a mail reads at most %d; the raw mail has them", p.msg.PartsOmitted, MaxParts)
	}
	if p.msg.TextOmitted > 0 {
		p.defect("text cut after %d bytes: %d more bytes of text are in the raw mail", len(p.msg.Text), p.msg.TextOmitted)
	}
	p.msg.Defects = p.defects
	return p.msg, nil
}

// parser holds the state of one Parse call.
type parser struct {
	limit   int64
	msg     *helpdesk.Message
	defects []string
	report  dsnCollector

	returned bool // a message/rfc822 or headers part came with the mail

	// What is left of textLimit (ParseOptions.TextLimit) for plain text
	// and of htmlPerText times it for HTML; may go below zero when a
	// charset conversion grows the text (finishBody cuts).
	textLimit, textBudget, htmlBudget int64
	entities                          int // MIME entities read so far (MaxParts)
}

// parseBody collects the readable parts met during the walk.
type parseBody struct {
	texts []string
	htmls []string
	// Bytes of decoded text and HTML beyond the budget, not read into
	// texts and htmls.
	textOmitted, htmlOmitted int64
}

// parseCtx is what a part inherits from its parents.
type parseCtx struct {
	parent   string // subtype of the enclosing multipart: mixed, alternative, related, report, digest...
	resource bool   // a non-root part of multipart/related: an inline resource
	report   bool   // inside multipart/report
}

func (p *parser) defect(format string, args ...any) {
	if len(p.defects) < 100 {
		p.defects = append(p.defects, fmt.Sprintf(format, args...))
	}
}

// entity handles one MIME entity: the message itself or one part.
func (p *parser) entity(h *gomessage.Header, body []byte, depth int, ctx parseCtx, acc *parseBody) {
	if p.entities >= MaxParts {
		p.msg.PartsOmitted++
		return
	}
	p.entities++
	ctv := h.Get("Content-Type")
	ctype, params, ok := mimeMediaType(ctv)
	if !ok {
		p.defect("malformed Content-Type %q", parseClip(ctv))
	}
	if ctype == "" || !strings.Contains(ctype, "/") {
		if ctype != "" {
			p.defect("invalid media type %q", parseClip(ctype))
		}
		// RFC 2045 §5.2 and RFC 2046 §5.1.5 defaults.
		ctype = "text/plain"
		if ctx.parent == "digest" {
			ctype = "message/rfc822"
		}
	}
	if strings.HasPrefix(ctype, "multipart/") {
		if depth >= maxMIMEDepth {
			p.defect("multipart nested deeper than %d levels; inner parts kept only in the raw message", maxMIMEDepth)
			return
		}
		if p.multipart(ctype, params, body, depth, ctx, acc) {
			return
		}
		// No delimiter at all: read the body as text so nothing is lost.
		ctype, params = "text/plain", map[string]string{"charset": params["charset"]}
	}
	p.leaf(h, ctype, params, body, ctx, acc)
}

// multipart walks the parts of a multipart entity. It returns false when
// the body holds no delimiter line, so the caller can read it as text.
func (p *parser) multipart(ctype string, params map[string]string, body []byte, depth int, ctx parseCtx, acc *parseBody) bool {
	sub := strings.TrimPrefix(ctype, "multipart/")
	boundary := params["boundary"]
	if boundary == "" {
		boundary = mimeGuessBoundary(body)
		if boundary == "" {
			p.defect("%s without boundary", ctype)
			return false
		}
		p.defect("%s without boundary parameter; guessed %q", ctype, parseClip(boundary))
	}
	parts, found, closed := mimeSplit(body, boundary)
	if !found {
		p.defect("%s without any delimiter line", ctype)
		return false
	}
	if !closed {
		p.defect("%s not terminated by its close delimiter", ctype)
	}
	if sub == "report" && strings.EqualFold(params["report-type"], "delivery-status") {
		p.report.isReport = true
	}
	// RFC 2387: the root of multipart/related is the part named by the
	// start parameter, or the first part.
	rootIdx := 0
	if sub == "related" {
		if start := parseStripBrackets(params["start"]); start != "" {
			for i, part := range parts {
				ph, _, _, _ := parseHeaderBlock(part)
				if parseStripBrackets(ph.Get("Content-Id")) == start {
					rootIdx = i
					break
				}
			}
		}
	}
	var alts []parseBody
	for i, part := range parts {
		if p.entities >= MaxParts {
			// Not even their headers are read; nested parts inside them
			// are not counted.
			p.msg.PartsOmitted += len(parts) - i
			break
		}
		ph, pbody, _, pdefects := parseHeaderBlock(part)
		for _, d := range pdefects {
			p.defect("part %d: %s", i+1, d)
		}
		cctx := parseCtx{parent: sub, report: ctx.report || sub == "report", resource: ctx.resource}
		if sub == "related" && i != rootIdx {
			cctx.resource = true
		}
		if sub == "alternative" {
			var a parseBody
			p.entity(&ph, pbody, depth+1, cctx, &a)
			alts = append(alts, a)
			continue
		}
		p.entity(&ph, pbody, depth+1, cctx, acc)
	}
	if sub == "alternative" {
		// RFC 2046 §5.1.4: alternatives are in increasing order of
		// preference. We want plain text for Text (the first non-empty
		// plain alternative) and the last HTML for HTML.
		var text, html []string
		var textOmitted, htmlOmitted int64
		for _, a := range alts {
			if text == nil && parseNonEmpty(a.texts) {
				text, textOmitted = a.texts, a.textOmitted
			}
			if len(a.htmls) > 0 {
				html, htmlOmitted = a.htmls, a.htmlOmitted
			}
		}
		acc.texts = append(acc.texts, text...)
		acc.htmls = append(acc.htmls, html...)
		acc.textOmitted += textOmitted
		acc.htmlOmitted += htmlOmitted
	}
	return true
}

// leaf handles a non-multipart entity.
func (p *parser) leaf(h *gomessage.Header, ctype string, params map[string]string, body []byte, ctx parseCtx, acc *parseBody) {
	dispv := h.Get("Content-Disposition")
	disp, dparams, ok := mimeMediaType(dispv)
	if !ok && dispv != "" {
		p.defect("malformed Content-Disposition %q", parseClip(dispv))
	}
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	cte := h.Get("Content-Transfer-Encoding")

	switch ctype {
	case "message/delivery-status", "message/global-delivery-status":
		// RFC 3464 §2 / RFC 6533: only delivery reports carry these; some
		// relays rewrap the report as multipart/mixed, so they are read
		// wherever they occur.
		// Their fields fit in far less than MaxText; what is beyond it
		// is not read (transfer decoding never grows a body).
		p.report.addStatus(p.readAll(ctype, params, cte, body[:textCut(body, MaxText)], true))
		return
	case "text/rfc822-headers", "message/global-headers":
		p.returned = true
		p.report.addOriginal(p.readAll(ctype, nil, cte, body[:textCut(body, MaxText)], false))
		return
	case "message/rfc822", "message/global":
		if ctx.report {
			// The returned message: keep only its header for the
			// original Message-ID; the whole of it is in Raw. Usually
			// it is not transfer-encoded and its header is a sub-slice.
			switch mimeNormalizeCTE(cte) {
			case "", "7bit", "8bit", "binary":
				_, rest, _, _ := parseHeaderBlock(body)
				p.report.addOriginal(string(body[:len(body)-len(rest)]))
			default:
				p.report.addOriginal(p.readAll(ctype, nil, cte, body[:textCut(body, MaxText)], false))
			}
			p.returned = true
			return
		}
	}

	isText := ctype == "text/plain" || ctype == "text/html"
	asBody := isText && disp != "attachment" && !ctx.resource &&
		(filename == "" || (disp == "inline" && len(acc.texts)+len(acc.htmls) == 0))
	if asBody {
		budget, omitted := &p.textBudget, &acc.textOmitted
		if ctype == "text/html" {
			budget, omitted = &p.htmlBudget, &acc.htmlOmitted
		}
		text, more := p.readText(ctype, params, cte, body, *budget)
		*budget -= int64(len(text))
		*omitted += more
		if ctype == "text/plain" && strings.EqualFold(params["format"], "flowed") {
			text = mimeUnflow(text, strings.EqualFold(params["delsp"], "yes"))
		}
		if ctype == "text/html" {
			acc.htmls = append(acc.htmls, text)
		} else {
			acc.texts = append(acc.texts, text)
		}
		return
	}
	switch ctype {
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
		p.returned = true
	}
	if ctype == "message/rfc822" && filename == "" {
		// Name a forwarded message after its subject.
		eh, _, _, _ := parseHeaderBlock(body)
		if s := hdrText(&eh, "Subject"); s != "" {
			filename = s + ".eml"
		}
	}
	inline := disp == "inline" || (disp == "" && ctx.resource)
	p.attach(ctype, cte, body, filename, parseStripBrackets(h.Get("Content-Id")), inline)
}

// readAll decodes a part fully into valid UTF-8 text with LF line endings.
func (p *parser) readAll(ctype string, params map[string]string, cte string, body []byte, convert bool) string {
	if !convert {
		params = nil
	}
	b, d, err := mimeDecodedText(ctype, params, cte, body)
	if d != "" {
		p.defect("%s", d)
	}
	s, ds := mimeTextFromBytes(b, err, params["charset"] != "")
	for _, d := range ds {
		p.defect("%s", d)
	}
	return s
}

// readText is readAll for a body part of which at most limit bytes of
// decoded text are kept: a longer text is cut at the end of its last whole
// line within limit, and more is the number of decoded bytes after the
// cut. Only the kept part is ever held in memory: the rest is decoded into
// a counter.
func (p *parser) readText(ctype string, params map[string]string, cte string, body []byte, limit int64) (text string, more int64) {
	limit = max(limit, 0)
	identity := mimeIdentityCharset(ctype, params)
	if int64(len(body)) <= limit && identity || int64(len(body))*utf8.UTFMax <= limit {
		// Transfer decoding never grows a body, nor does a charset
		// passed through; no charset takes more than 4 bytes of UTF-8
		// for one of its bytes.
		return p.readAll(ctype, params, cte, body, true), 0
	}
	if identity {
		switch mimeNormalizeCTE(cte) {
		case "", "7bit", "8bit", "binary":
			cut := textCut(body, int(limit))
			return p.readAll(ctype, params, cte, body[:cut], true), int64(len(body) - cut)
		}
	}
	r, d := mimeDecodedReader(ctype, params, cte, body)
	if d != "" {
		p.defect("%s", d)
	}
	buf := make([]byte, limit+1)
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if int64(n) <= limit && err == nil {
		// All of it fits: n < len(buf).
		s, ds := mimeTextFromBytes(buf[:n], nil, params["charset"] != "")
		for _, d := range ds {
			p.defect("%s", d)
		}
		return s, 0
	}
	cut := textCut(buf[:n], int(limit))
	more = int64(n - cut)
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, r)
		more += rest
	}
	s, ds := mimeTextFromBytes(buf[:cut], err, params["charset"] != "")
	for _, d := range ds {
		p.defect("%s", d)
	}
	return s, more
}

// textCut returns where to cut b to keep at most limit bytes: after the
// last line end within limit when there is one in the last 64 KiB of
// them, else at the start of a UTF-8 sequence, so that a cut never makes
// valid UTF-8 invalid.
func textCut(b []byte, limit int) int {
	if len(b) <= limit {
		return len(b)
	}
	if i := bytes.LastIndexByte(b[:limit], '\n'); i >= 0 && i >= limit-64<<10 {
		return i + 1
	}
	for i := limit; i > 0 && i > limit-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return limit
}

// attach adds a file, streaming it through the decoder: a file over the
// size limit is counted into io.Discard and never buffered.
func (p *parser) attach(ctype, cte string, body []byte, filename, cid string, inline bool) {
	if len(p.msg.Attachments) >= MaxAttachments {
		p.msg.AttachmentsOmitted++
		return
	}
	n := len(p.msg.Attachments) + 1
	name := sanitizeFilename(filename)
	if name == "" {
		name = fileFallbackName(n, ctype)
	}
	a := helpdesk.Attachment{Filename: name, ContentType: ctype, ContentID: cid, Inline: inline}
	r, d := mimeDecodedReader(ctype, nil, cte, body)
	if d != "" {
		p.defect("attachment %q: %s", name, d)
	}
	est := parseEstimateDecoded(mimeNormalizeCTE(cte), len(body))
	if p.limit < 0 || est > p.limit {
		size, _ := io.Copy(io.Discard, r)
		a.Size, a.Dropped = size, parseDroppedReason(size, p.limit)
		p.msg.Attachments = append(p.msg.Attachments, a)
		return
	}
	var buf bytes.Buffer
	buf.Grow(int(min(est+64, p.limit+1)))
	n64, err := io.CopyN(&buf, r, p.limit+1)
	if n64 > p.limit {
		rest, _ := io.Copy(io.Discard, r)
		a.Size, a.Dropped = n64+rest, parseDroppedReason(n64+rest, p.limit)
		p.msg.Attachments = append(p.msg.Attachments, a)
		return
	}
	if err != nil && err != io.EOF {
		p.defect("attachment %q truncated: %v", name, err)
	}
	a.Data = buf.Bytes()
	if a.Data == nil {
		a.Data = []byte{}
	}
	a.Size = int64(len(a.Data))
	p.msg.Attachments = append(p.msg.Attachments, a)
}

func parseDroppedReason(size, limit int64) string {
	if limit < 0 {
		return "attachments are not kept"
	}
	return fmt.Sprintf("%d bytes exceeds the %d byte attachment limit", size, limit)
}

// parseEstimateDecoded is a lower bound, close to exact, of the decoded size
// of an encoded body: base64 carries 3 bytes per 4 characters and loses
// about 2 of every 78 characters to line breaks.
func parseEstimateDecoded(cte string, n int) int64 {
	switch cte {
	case "base64":
		return int64(n) * 3 / 4 * 76 / 78
	case "quoted-printable":
		return int64(n) / 3
	}
	return int64(n)
}

// finishBody sets Text, NewText and HTML from the collected parts.
func (p *parser) finishBody(acc *parseBody) {
	var texts []string
	for _, t := range acc.texts {
		if strings.TrimSpace(t) != "" {
			texts = append(texts, strings.TrimRight(t, " \t\n"))
		}
	}
	if len(acc.htmls) > 0 {
		p.msg.HTML = strings.Join(acc.htmls, "\n")
	}
	omitted := acc.textOmitted
	if len(texts) == 0 && p.msg.HTML != "" {
		texts = append(texts, HTMLToText(p.msg.HTML))
		omitted = acc.htmlOmitted
	}
	p.msg.Text = strings.Join(texts, "\n\n")
	if int64(len(p.msg.Text)) > p.textLimit {
		limit := int(p.textLimit)
		cut := textCut([]byte(p.msg.Text[:limit+1]), limit)
		omitted += int64(len(p.msg.Text) - cut)
		p.msg.Text = strings.Clone(strings.TrimRight(p.msg.Text[:cut], " \t\n"))
	}
	p.msg.TextOmitted = omitted
	p.msg.NewText = StripReply(p.msg.Text)
}

// headers reads the top-level header fields of the message.
func (p *parser) headers(h *gomessage.Header) {
	m := p.msg
	if ids := parseMsgIDs(h.Get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	} else {
		if h.Get("Message-Id") != "" {
			p.defect("unreadable Message-ID %q", parseClip(h.Get("Message-Id")))
		}
		sum := sha256.Sum256(m.Raw)
		m.MessageID = hex.EncodeToString(sum[:16]) + "@" + syntheticIDDomain
	}
	m.InReplyTo = parseMsgIDs(strings.Join(hdrValues(h, "In-Reply-To"), " "))
	m.References = parseMsgIDs(strings.Join(hdrValues(h, "References"), " "))

	from := p.addresses(h, "From")
	if len(from) == 0 {
		if s := p.addresses(h, "Sender"); len(s) > 0 {
			p.defect("no From address; using Sender")
			from = s
		} else {
			p.defect("no From address")
		}
	}
	if len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo = p.addresses(h, "Reply-To")
	m.To = p.addresses(h, "To")
	m.Cc = p.addresses(h, "Cc")

	for _, key := range []string{"Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, v := range hdrValues(h, key) {
			for _, a := range addrParseList(v) {
				m.Recipients = parseAppendUnique(m.Recipients, a.Email)
			}
		}
	}
	if rp := h.Get("Return-Path"); rp != "" {
		m.ReturnPath = addrReturnPath(rp)
	}
	m.Subject = strings.TrimSpace(hdrText(h, "Subject"))
	if dv := h.Get("Date"); dv != "" {
		if t, ok := parseDate(dv); ok {
			m.Date = t
		} else {
			p.defect("unparseable Date %q", parseClip(dv))
		}
	}
}

// addresses parses every field with the key into addresses, leniently.
func (p *parser) addresses(h *gomessage.Header, key string) []helpdesk.Address {
	var out []helpdesk.Address
	for _, v := range hdrValues(h, key) {
		list, clean := addrParseListClean(v)
		if !clean {
			p.defect("malformed %s %q", key, parseClip(v))
		}
		out = append(out, list...)
	}
	return out
}

// parseMsgIDs extracts message identifiers (RFC 5322 §3.6.4) from a field
// value, without angle brackets, tolerating junk between them. A value
// without any bracketed id yields its tokens that contain "@".
func parseMsgIDs(v string) []string {
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+1:], '>')
		if j < 0 {
			break
		}
		id := strings.Join(strings.Fields(rest[i+1:i+1+j]), "")
		if k := strings.LastIndexByte(id, '<'); k >= 0 {
			id = id[k+1:]
		}
		if id != "" {
			ids = parseAppendUnique(ids, id)
		}
		rest = rest[i+1+j+1:]
	}
	if len(ids) > 0 {
		return ids
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ';' }) {
		f = strings.Trim(f, "<>\"'()")
		if strings.Contains(f, "@") && len(f) > 2 {
			ids = parseAppendUnique(ids, f)
		}
	}
	return ids
}

func parseAppendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func parseStripBrackets(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.TrimSpace(s)
}

func parseNonEmpty(ss []string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// parseClip shortens a value quoted in a defect.
func parseClip(s string) string {
	s = parseValidUTF8(s)
	if len(s) > 80 {
		return fileTruncateUTF8(s, 80) + "…"
	}
	return s
}

// parseAlternation joins literal words into a regexp alternation.
func parseAlternation(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(quoted, "|")
}

// parseIsASCII reports whether s is all ASCII.
func parseIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseASCIILower returns s with its letters lower-cased, as
// strings.ToLower does, when s is all ASCII; ok is false otherwise.
func parseASCIILower(s string) (lower string, ok bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return s, true
	}
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = ascii.LowerByte(s[i])
	}
	return string(b), true
}

// parseIsWordByte reports whether c is an ASCII word character, as \b in
// a regexp sees it ([0-9A-Za-z_]); the bytes of other UTF-8 characters
// are not.
func parseIsWordByte(c byte) bool { return parseIsDigit(c) || parseIsLetter(c) || c == '_' }
