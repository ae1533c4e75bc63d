package message

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"golang.org/x/text/encoding/charmap"
)

// parseHeaderBlock reads the header section at the start of b leniently
// and returns it with the body that follows. RFC 5322 §2.1 says the header
// ends at the first empty line; in the wild it also ends at the first line
// that is neither a field nor a continuation, and the mbox "From " line or
// a byte-order mark sometimes precede it. Each deviation is reported in
// defects. Fields are kept as sub-slices of b (no copy).
func parseHeaderBlock(b []byte) (h gomessage.Header, body []byte, nfields int, defects []string) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	// Leading empty lines: tolerated, reported.
	skipped := false
	for {
		line, rest, _ := parseCutLine(b)
		if len(line) == 0 || !parseIsBlank(line) || len(rest) == len(b) {
			break
		}
		if len(rest) == 0 {
			break
		}
		b, skipped = rest, true
	}
	if skipped {
		defects = append(defects, "empty lines before the header")
	}
	if bytes.HasPrefix(b, []byte("From ")) || bytes.HasPrefix(b, []byte(">From ")) {
		_, b, _ = parseCutLine(b) // mbox separator line, not a header field
	}

	var fields [][]byte
	rest := b
	for len(rest) > 0 {
		line, next, _ := parseCutLine(rest)
		if parseIsBlank(line) {
			body = next
			rest = nil
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				// RFC 5322 §2.2.3: a field cannot start with white space;
				// a continuation without a field is junk.
				defects = append(defects, "header starts with a continuation line")
				rest = next
				continue
			}
			last := fields[len(fields)-1]
			// Extend the previous field's slice over the continuation;
			// fields are contiguous in b, so this is a re-slice.
			fields[len(fields)-1] = last[:len(last)+len(rest)-len(next)]
			rest = next
			continue
		}
		if !parseIsFieldLine(line) {
			if len(fields) > 0 {
				defects = append(defects, "header not followed by an empty line")
			}
			body = rest
			rest = nil
			break
		}
		fields = append(fields, rest[:len(rest)-len(next)])
		rest = next
	}
	// textproto.Header keeps fields in reverse order and Get returns the
	// field added first, so add the last field first: Get then answers the
	// topmost field, as RFC 5322 readers expect.
	for i := len(fields) - 1; i >= 0; i-- {
		h.AddRaw(fields[i])
	}
	return h, body, len(fields), defects
}

// parseCutLine returns the first line of b without its line ending, the
// rest after it, and whether a line ending was found.
func parseCutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:], true
}

func parseIsBlank(line []byte) bool {
	return len(bytes.TrimRight(line, " \t\r")) == 0
}

// parseIsFieldLine reports whether line starts a header field: a name of
// printable ASCII other than colon (RFC 5322 §2.2), optionally followed by
// white space (obsolete syntax, §4.5), then a colon.
func parseIsFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// hdrText returns the named field decoded per RFC 2047 (every charset
// go-message/charset knows) and as valid UTF-8. Undecodable raw 8-bit
// values are read as Windows-1252, the usual culprit.
func hdrText(h *gomessage.Header, key string) string {
	v := h.Get(key)
	if v == "" {
		return ""
	}
	return hdrDecode(v)
}

func hdrDecode(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := h2047Decoder.DecodeHeader(v); err == nil {
			v = d
		} else {
			v = hdrDecodeWords(v)
		}
	}
	return parseValidUTF8(v)
}

// h2047Decoder decodes RFC 2047 encoded words with go-message's charset
// table. It is stateless and safe for concurrent use.
var h2047Decoder = &mime.WordDecoder{CharsetReader: gomessage.CharsetReader}

// hdrDecodeWords decodes the encoded words of v one by one, leaving those
// that fail (unknown charset, broken encoding) as they are, so a single bad
// word does not spoil a subject.
func hdrDecodeWords(v string) string {
	var b strings.Builder
	prevEncoded := false
	for len(v) > 0 {
		i := strings.Index(v, "=?")
		if i < 0 {
			b.WriteString(v)
			break
		}
		// An encoded word ends at "?=" after charset?enc?text.
		j := hdrEncodedWordEnd(v[i:])
		if j < 0 {
			b.WriteString(v)
			break
		}
		between := v[:i]
		word := v[i : i+j]
		d, err := h2047Decoder.Decode(word)
		if err != nil {
			b.WriteString(v[:i+j])
			prevEncoded = false
		} else {
			// RFC 2047 §6.2: white space between adjacent encoded words
			// is ignored.
			if !(prevEncoded && strings.TrimSpace(between) == "") {
				b.WriteString(between)
			}
			b.WriteString(d)
			prevEncoded = true
		}
		v = v[i+j:]
	}
	return b.String()
}

func hdrEncodedWordEnd(s string) int {
	// s starts with "=?"; find the two inner '?' then "?=".
	q := 0
	for k := 2; k < len(s)-1; k++ {
		if s[k] == ' ' || s[k] == '\t' {
			return -1
		}
		if s[k] == '?' {
			q++
			if q >= 3 && s[k+1] == '=' {
				return k + 2
			}
		}
	}
	return -1
}

// parseValidUTF8 returns s unchanged when it is valid UTF-8 and otherwise
// decodes it as Windows-1252, which maps every byte.
func parseValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	d, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return d
}

// hdrValues returns every value of the named field, topmost first.
func hdrValues(h *gomessage.Header, key string) []string {
	fs := h.FieldsByKey(key)
	var out []string
	for fs.Next() {
		out = append(out, fs.Value())
	}
	return out
}
