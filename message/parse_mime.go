package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"golang.org/x/text/encoding/charmap"
)

// mimeMediaType parses a Content-Type or Content-Disposition value. It
// uses mime.ParseMediaType (RFC 2045 §5.1, RFC 2231 parameters) and, when
// that refuses the value, falls back to reading the type token and any
// name=value pairs it can find, so that `multipart/mixed boundary="x"`
// (missing semicolon) or an unquoted 8-bit file name still work. ok is
// false when the strict parser failed.
func mimeMediaType(v string) (mt string, params map[string]string, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil, true
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		for k, p := range params {
			if strings.Contains(p, "=?") {
				params[k] = hdrDecode(p)
			}
		}
		return mt, params, true
	}
	return mimeLenientMediaType(v)
}

func mimeLenientMediaType(v string) (string, map[string]string, bool) {
	end := strings.IndexAny(v, "; \t\r\n")
	mt := v
	rest := ""
	if end >= 0 {
		mt, rest = v[:end], v[end:]
	}
	mt = strings.ToLower(strings.Trim(mt, "\"' "))
	params := map[string]string{}
	// Scan name=value pairs anywhere after the type.
	for len(rest) > 0 {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		// The name is the token right before '='.
		j := eq
		for j > 0 && rest[j-1] == ' ' {
			j--
		}
		k := j
		for k > 0 && mimeIsTokenByte(rest[k-1]) {
			k--
		}
		name := strings.ToLower(rest[k:j])
		val := strings.TrimLeft(rest[eq+1:], " \t")
		var value string
		if strings.HasPrefix(val, "\"") {
			q := strings.IndexByte(val[1:], '"')
			if q < 0 {
				value, rest = val[1:], ""
			} else {
				value, rest = val[1:1+q], val[2+q:]
			}
		} else {
			e := strings.IndexAny(val, "; \t\r\n")
			if e < 0 {
				value, rest = val, ""
			} else {
				value, rest = val[:e], val[e:]
			}
		}
		name = strings.TrimSuffix(name, "*")
		if name != "" {
			if _, dup := params[name]; !dup {
				params[name] = hdrDecode(value)
			}
		}
	}
	return mt, params, false
}

func mimeIsTokenByte(c byte) bool {
	return c > ' ' && c < 127 && !strings.ContainsRune("()<>@,;:\\\"/[]?=", rune(c))
}

// mimeSplit cuts a multipart body into its parts (RFC 2046 §5.1.1). It
// works on the byte slice and returns sub-slices, so no part is copied.
// A delimiter is "--" boundary at the start of a line, followed only by
// white space (or by "--" for the close delimiter); the line break before
// it belongs to the delimiter. found is false when no delimiter occurs at
// all; closed is false when the close delimiter is missing, in which case
// the last part runs to the end of the body.
func mimeSplit(body []byte, boundary string) (parts [][]byte, found, closed bool) {
	delim := "--" + boundary
	start := -1 // start of the current part's content
	pos := 0
	for pos <= len(body) {
		i := bytes.Index(body[pos:], []byte(delim))
		if i < 0 {
			break
		}
		i += pos
		pos = i + len(delim)
		if i > 0 && body[i-1] != '\n' {
			continue // not at the start of a line
		}
		after := body[i+len(delim):]
		isClose := bytes.HasPrefix(after, []byte("--"))
		if isClose {
			after = after[2:]
		}
		line, rest, _ := parseCutLine(after)
		if len(bytes.Trim(line, " \t")) != 0 {
			continue // a longer boundary that merely starts with ours
		}
		if start >= 0 {
			end := i
			if end > 0 && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			if end < start {
				end = start
			}
			parts = append(parts, body[start:end])
		}
		found = true
		if isClose {
			return parts, true, true
		}
		start = len(body) - len(rest)
		pos = start
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return parts, found, false
}

// mimeGuessBoundary finds a delimiter line ("--" followed by a token) in a
// multipart body whose Content-Type lost its boundary parameter.
func mimeGuessBoundary(body []byte) string {
	rest := body
	for n := 0; len(rest) > 0 && n < 200; n++ {
		line, next, _ := parseCutLine(rest)
		rest = next
		if len(line) > 2 && line[0] == '-' && line[1] == '-' {
			b := strings.TrimRight(string(line[2:]), " \t")
			b = strings.TrimSuffix(b, "--")
			if b != "" && len(b) <= 200 && !strings.ContainsAny(b, " \t") {
				return b
			}
		}
	}
	return ""
}

// mimeDecodedReader returns a reader of the part body decoded from its
// transfer encoding (RFC 2045 §6) and, for text, converted to UTF-8 from
// its charset, using go-message. A problem is returned as a defect and the
// reader then yields what can be read (raw bytes for an unknown charset or
// encoding); the caller repairs invalid UTF-8.
func mimeDecodedReader(ctype string, params map[string]string, cte string, body []byte) (io.Reader, string) {
	var h gomessage.Header
	cte = mimeNormalizeCTE(cte)
	if cte != "" {
		h.Set("Content-Transfer-Encoding", cte)
	}
	if cs := params["charset"]; cs != "" && strings.HasPrefix(ctype, "text/") {
		h.Set("Content-Type", mime.FormatMediaType(ctype, map[string]string{"charset": mimeNormalizeCharset(cs)}))
	}
	e, err := gomessage.New(h, bytes.NewReader(body))
	switch {
	case err == nil:
		return e.Body, ""
	case gomessage.IsUnknownCharset(err):
		return e.Body, fmt.Sprintf("unknown charset %q", params["charset"])
	case gomessage.IsUnknownEncoding(err):
		return bytes.NewReader(body), fmt.Sprintf("unknown transfer encoding %q", cte)
	}
	return bytes.NewReader(body), fmt.Sprintf("decoding part: %v", err)
}

// mimeNormalizeCTE maps the transfer-encoding spellings seen in the wild
// onto the RFC 2045 names.
func mimeNormalizeCTE(v string) string {
	v = strings.ToLower(strings.Trim(v, " \t\"'"))
	if i := strings.IndexAny(v, "; "); i >= 0 {
		v = v[:i]
	}
	switch v {
	case "7-bit", "7bits", "ascii", "us-ascii", "none", "plain", "text":
		return "7bit"
	case "8-bit", "8bits":
		return "8bit"
	case "quoted_printable", "quotedprintable", "qp", "quoted printable":
		return "quoted-printable"
	case "base-64", "b64":
		return "base64"
	}
	return v
}

// mimeNormalizeCharset maps common mislabelled charset names onto names
// the IANA index knows.
func mimeNormalizeCharset(cs string) string {
	cs = strings.ToLower(strings.Trim(cs, " \t\"'"))
	switch cs {
	case "utf8", "unicode-1-1-utf-8", "x-unicode20utf8":
		return "utf-8"
	case "latin1", "latin-1", "iso8859-1", "iso_8859_1", "8859-1":
		return "iso-8859-1"
	case "cp1252", "win-1252", "x-cp1252":
		return "windows-1252"
	case "ascii", "ansi_x3.4-1968", "7bit":
		return "us-ascii"
	case "x-sjis", "sjis", "shift-jis":
		return "shift_jis"
	case "ks_c_5601-1987", "ks_c_5601", "x-windows-949":
		return "euc-kr"
	case "gb2312", "x-gbk", "cp936":
		return "gbk"
	}
	return cs
}

// mimeDecodedText decodes a text part as mimeDecodedReader's reader would
// yield it, up to the first error, which is returned with what came
// before it. A defect is returned as by mimeDecodedReader. The common
// cases (no transfer encoding or quoted-printable, in UTF-8, US-ASCII or
// no declared charset) are decoded directly from body; data is then body
// itself when there is nothing to decode, and must not be modified.
func mimeDecodedText(ctype string, params map[string]string, cte string, body []byte) (data []byte, defect string, err error) {
	if mimeIdentityCharset(ctype, params) {
		switch mimeNormalizeCTE(cte) {
		case "", "7bit", "8bit", "binary":
			return body, "", nil
		case "quoted-printable":
			data, err = mimeDecodeQP(body)
			return data, "", err
		}
	}
	r, defect := mimeDecodedReader(ctype, params, cte, body)
	buf := bytes.NewBuffer(make([]byte, 0, len(body)+bytes.MinRead))
	_, err = buf.ReadFrom(r)
	return buf.Bytes(), defect, err
}

// mimeIdentityCharset reports whether mimeDecodedReader leaves the bytes
// of a part as they are after the transfer decoding: the part is not
// text, or declares no charset, or declares UTF-8 or US-ASCII, which
// go-message passes through.
func mimeIdentityCharset(ctype string, params map[string]string) bool {
	cs := params["charset"]
	if cs == "" || !strings.HasPrefix(ctype, "text/") {
		return true
	}
	switch mimeNormalizeCharset(cs) {
	case "utf-8", "us-ascii":
		return true
	}
	return false
}

// mimeQPBufferSize is the line buffer of the quoted-printable decoder
// mimeDecodeQP stands in for (mime/quotedprintable reads lines through a
// default bufio.Reader): a longer line ends the text.
const mimeQPBufferSize = 4096

// mimeDecodeQP decodes a quoted-printable body (RFC 2045 §6.7) exactly as
// reading mime/quotedprintable.NewReader(bytes.NewReader(body)) to its
// end does, lenient deviations and errors included: soft line breaks
// "=\n" and "=\r\n" with white space before the line end, a literal "="
// where no two hex digits follow (but not at the end of a line), a
// trailing "=" at the end of the body, 8-bit bytes passed through; a
// control character, a broken soft break or a line longer than the
// buffer end the decoding with an error. It returns the decoded bytes
// before the first error and the error, nil at the end of the body.
//
// It exists because mime/quotedprintable decodes a byte at a time
// through its reader state, which made it the largest single cost of
// parsing a typical mail from a webmail client.
func mimeDecodeQP(body []byte) ([]byte, error) {
	out := make([]byte, 0, len(body))
	var lineBuf []byte
	rest := body
	for {
		// The next line as bufio.Reader.ReadSlice('\n') returns it.
		var whole []byte
		var rerr error
		if i := bytes.IndexByte(rest, '\n'); i >= 0 && i < mimeQPBufferSize {
			whole, rest = rest[:i+1], rest[i+1:]
		} else if len(rest) >= mimeQPBufferSize {
			whole, rest, rerr = rest[:mimeQPBufferSize], rest[mimeQPBufferSize:], bufio.ErrBufferFull
		} else {
			whole, rest, rerr = rest, nil, io.EOF
		}
		hasLF := bytes.HasSuffix(whole, []byte("\n"))
		hasCR := bytes.HasSuffix(whole, []byte("\r\n"))
		line := bytes.TrimRight(whole, "\n\r \t")
		if bytes.HasSuffix(line, []byte("=")) {
			after := bytes.TrimLeft(whole[len(line):], " \t")
			line = line[:len(line)-1]
			if !bytes.HasPrefix(after, []byte("\n")) && !bytes.HasPrefix(after, []byte("\r\n")) &&
				!(len(after) == 0 && len(line) > 0 && rerr == io.EOF) {
				rerr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", after)
			}
		} else if hasLF {
			// The line keeps its line ending without the white space
			// before it.
			lineBuf = append(lineBuf[:0], line...)
			if hasCR {
				lineBuf = append(lineBuf, '\r', '\n')
			} else {
				lineBuf = append(lineBuf, '\n')
			}
			line = lineBuf
		}
		for len(line) > 0 {
			b := line[0]
			switch {
			case b == '=':
				v, err := mimeQPHexByte(line[1:])
				if err != nil {
					if len(line) >= 2 && line[1] != '\r' && line[1] != '\n' {
						break // a literal "="
					}
					return out, err
				}
				b = v
				line = line[2:]
			case b == '\t' || b == '\r' || b == '\n' || b >= 0x80:
			case b < ' ' || b > '~':
				return out, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", b)
			}
			out = append(out, b)
			line = line[1:]
		}
		if rerr == io.EOF {
			return out, nil
		}
		if rerr != nil {
			return out, rerr
		}
	}
}

// mimeQPHexByte reads the two hex digits after "=", with the errors
// mime/quotedprintable gives.
func mimeQPHexByte(v []byte) (byte, error) {
	if len(v) < 2 {
		return 0, io.ErrUnexpectedEOF
	}
	hi, ok := mimeQPHex(v[0])
	if !ok {
		return 0, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", v[0])
	}
	lo, ok := mimeQPHex(v[1])
	if !ok {
		return 0, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", v[1])
	}
	return hi<<4 | lo, nil
}

// mimeQPHex reads one hex digit; lower case is accepted, as badly encoded
// mail uses it.
func mimeQPHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// mimeTextFromBytes makes valid UTF-8 text with LF line endings and no
// NUL bytes of a decoded text part; readErr is the error that ended the
// decoding, if any. Bytes that are not UTF-8 (undeclared or wrong
// charset) are read as Windows-1252.
func mimeTextFromBytes(b []byte, readErr error, charsetKnown bool) (string, []string) {
	var defects []string
	if readErr != nil {
		defects = append(defects, "text truncated: "+readErr.Error())
	}
	if !utf8.Valid(b) {
		if d, derr := charmap.Windows1252.NewDecoder().Bytes(b); derr == nil {
			if charsetKnown {
				defects = append(defects, "text is not valid in its declared charset; read as windows-1252")
			}
			b = d
		} else {
			b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
		}
	}
	return mimeCanonicalText(b), defects
}

// mimeCanonicalText turns CRLF and lone CR line endings into LF and drops
// NUL bytes: Message.Text is for people and for the reply stripper. It
// copies b once.
func mimeCanonicalText(b []byte) string {
	cr, nul := bytes.IndexByte(b, '\r'), bytes.IndexByte(b, 0)
	if cr < 0 && nul < 0 {
		return string(b)
	}
	var s strings.Builder
	s.Grow(len(b))
	if nul < 0 {
		// Only line endings to change: copy the runs between CRs.
		for cr >= 0 {
			s.Write(b[:cr])
			s.WriteByte('\n')
			b = b[cr+1:]
			if len(b) > 0 && b[0] == '\n' {
				b = b[1:]
			}
			cr = bytes.IndexByte(b, '\r')
		}
		s.Write(b)
		return s.String()
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			s.WriteByte('\n')
		case 0:
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

// mimeUnflow undoes format=flowed (RFC 3676 §4): a line that ends in a
// space continues on the next line of the same quote depth, except the
// signature separator "-- "; space-stuffing is removed; with delsp=yes the
// trailing space of a soft break is deleted too.
func mimeUnflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	b.Grow(len(s))
	open, openDepth := false, 0
	for _, l := range lines {
		depth := 0
		for depth < len(l) && l[depth] == '>' {
			depth++
		}
		content := l[depth:]
		content = strings.TrimPrefix(content, " ") // §4.4 space-stuffing
		if open && depth != openDepth {
			// §4.5: a quote depth change ends the paragraph.
			b.WriteByte('\n')
			open = false
		}
		if !open {
			if depth > 0 {
				b.WriteString(strings.Repeat(">", depth))
				b.WriteByte(' ')
			}
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		b.WriteString(content)
		if flowed {
			open, openDepth = true, depth
			continue
		}
		b.WriteByte('\n')
		open = false
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// maxFilenameBytes bounds sanitised file names; 255 is the common file
// system limit, kept with margin for a prefix a store might add.
const maxFilenameBytes = 200

// sanitizeFilename makes a client-supplied file name safe to store and to
// offer for download: only the last path element, no control or format
// characters (including bidi overrides), none of <>:"|?*, no leading dots
// or spaces, no Windows device names, at most maxFilenameBytes bytes with
// the extension kept. It returns "" when nothing usable remains, and the
// caller supplies a fallback name.
func sanitizeFilename(name string) string {
	name = parseValidUTF8(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Join(strings.Fields(b.String()), " ")
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return ""
	}
	stem, ext := name, path.Ext(name)
	if len(ext) > 16 || len(ext) == len(name) {
		ext = ""
	}
	stem = name[:len(name)-len(ext)]
	if fileReservedName(stem) {
		stem = "_" + stem
	}
	if len(stem)+len(ext) > maxFilenameBytes {
		stem = fileTruncateUTF8(stem, maxFilenameBytes-len(ext))
		stem = strings.TrimRight(stem, ". ")
	}
	if stem == "" {
		return ""
	}
	return stem + ext
}

func fileReservedName(stem string) bool {
	s := strings.ToUpper(stem)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) && s[3] >= '0' && s[3] <= '9' {
		return true
	}
	return false
}

func fileTruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fileFallbackName names a file that came without a usable name, from its
// position and content type.
func fileFallbackName(n int, ctype string) string {
	ext := ".bin"
	switch ctype {
	case "text/plain":
		ext = ".txt"
	case "text/html":
		ext = ".html"
	case "text/calendar":
		ext = ".ics"
	case "message/rfc822", "message/global":
		ext = ".eml"
	case "image/png":
		ext = ".png"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		ext = ".jpg"
	case "image/gif":
		ext = ".gif"
	case "application/pdf":
		ext = ".pdf"
	case "application/zip":
		ext = ".zip"
	}
	return fmt.Sprintf("attachment-%d%s", n, ext)
}
