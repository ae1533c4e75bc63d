package message

import (
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// traceFromHeader walks the header once, top to bottom, and returns every
// Authentication-Results and ARC-Authentication-Results field (RFC 8601,
// RFC 8617) with where it stood, and the "by" host of each Received: field,
// topmost (most recently added) first. Whether a result can be trusted
// depends on that position and on its authserv-id, and is for package
// trust to decide: the words of a field prove nothing, since the sender can
// write any field below the ones our servers add.
func traceFromHeader(h *gomessage.Header) (results []helpdesk.AuthResult, received []string) {
	fs := h.Fields()
	for field := 0; fs.Next(); field++ {
		key := fs.Key()
		switch {
		case strings.EqualFold(key, "Received"):
			received = append(received, receivedBy(fs.Value()))
		case strings.EqualFold(key, "Authentication-Results"):
			for _, r := range parseAuthResults(fs.Value()) {
				r.Header, r.Field, r.ReceivedAbove = "Authentication-Results", field, len(received)
				results = append(results, r)
			}
		case strings.EqualFold(key, "ARC-Authentication-Results"):
			// "i=1; authserv-id; resinfo...": the instance tag, then an
			// Authentication-Results payload (RFC 8617 §4.1.1).
			v := strings.TrimSpace(fs.Value())
			if i := strings.IndexByte(v, ';'); i >= 0 && strings.HasPrefix(strings.ToLower(strings.TrimSpace(v[:i])), "i") {
				v = v[i+1:]
			}
			for _, r := range parseAuthResults(v) {
				r.Header, r.Field, r.ReceivedAbove = "ARC-Authentication-Results", field, len(received)
				results = append(results, r)
			}
		}
	}
	return results, received
}

// receivedBy returns the host of the "by" clause of a Received: value
// (RFC 5321 §4.4), lower case, or "" when it names none.
func receivedBy(v string) string {
	// A scan, not a split: every mail has several Received: fields, and
	// this runs for each.
	depth, prevBy := 0, false
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth > 0 {
				depth--
			}
			i++
		case depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		default:
			j := i
			for j < len(v) && v[j] != ' ' && v[j] != '\t' && v[j] != '\r' && v[j] != '\n' && v[j] != '(' {
				j++
			}
			word := v[i:j]
			if prevBy {
				host := strings.TrimRight(word, ";.,")
				if !utf8.ValidString(host) {
					host = strings.ToValidUTF8(host, "")
				}
				return ascii.Lower(host)
			}
			prevBy = len(word) == 2 && (word[0]|0x20) == 'b' && (word[1]|0x20) == 'y'
			i = j
		}
	}
	return ""
}

// parseAuthResults parses one Authentication-Results value (RFC 8601 §2.2):
//
//	authserv-id [version] ; method[/version]=result [reason=...] [ptype.prop=value ...] ; ...
//
// Comments are removed first (CFWS). A "none" result list yields nothing.
// Domain is header.d for dkim (else the domain of header.i), the domain of
// smtp.mailfrom for spf (else smtp.helo), header.from for dmarc, and the
// first of those present for other methods.
func parseAuthResults(v string) []helpdesk.AuthResult {
	v = parseValidUTF8(v)
	dmarcPolicy := authDMARCCommentPolicy(v)
	v = authStripComments(v)
	segs := authSplit(v, ';')
	idf := strings.Fields(segs[0])
	if len(idf) == 0 {
		return nil
	}
	servID := strings.ToLower(strings.Trim(idf[0], `"`))
	if strings.Contains(idf[0], "=") {
		// No authserv-id: the field starts with a result, as Microsoft
		// 365 writes it ("spf=pass (sender IP is ...) smtp.mailfrom=...").
		servID = ""
	} else {
		if len(segs) < 2 {
			return nil
		}
		segs = segs[1:]
	}
	var out []helpdesk.AuthResult
	for _, seg := range segs {
		pairs := authPairs(seg)
		if len(pairs) == 0 {
			continue // "none" or junk
		}
		method, result := pairs[0][0], strings.ToLower(pairs[0][1])
		if i := strings.IndexByte(method, '/'); i >= 0 {
			method = strings.TrimSpace(method[:i])
		}
		method = strings.ToLower(method)
		if method == "" || result == "" || method == "reason" || strings.Contains(method, ".") {
			continue
		}
		props := map[string]string{}
		for _, kv := range pairs[1:] {
			k := strings.ToLower(kv[0])
			if _, dup := props[k]; !dup {
				props[k] = kv[1]
			}
		}
		r := helpdesk.AuthResult{AuthServID: servID, Method: method, Result: result}
		switch method {
		case "dkim", "domainkeys":
			r.Domain = authFirst(props["header.d"], authDomainOf(props["header.i"]))
		case "spf":
			r.Domain = authFirst(authDomainOf(props["smtp.mailfrom"]), authDomainOf(props["smtp.helo"]))
		case "dmarc":
			r.Domain = authFirst(authDomainOf(props["header.from"]), props["header.d"])
			r.Policy = authDMARCPolicy(props, dmarcPolicy)
		default:
			r.Domain = authFirst(props["header.d"], authDomainOf(props["header.from"]), authDomainOf(props["smtp.mailfrom"]))
		}
		r.Domain = strings.ToLower(r.Domain)
		out = append(out, r)
	}
	return out
}

// authPairs reads the name=value pairs of one resinfo, allowing white
// space around "=" and quoted values.
func authPairs(seg string) [][2]string {
	var out [][2]string
	s := strings.TrimSpace(seg)
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		name := strings.TrimSpace(s[:eq])
		if f := strings.Fields(name); len(f) > 1 {
			// A stray word before the name ("policy" in old formats):
			// keep the last, joined method/version forms aside.
			name = strings.Join(f, "")
			if !strings.Contains(name, "/") {
				name = f[len(f)-1]
			}
		}
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			q := strings.IndexByte(s[1:], '"')
			if q < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+q], s[2+q:]
			}
		} else {
			e := strings.IndexAny(s, " \t")
			if e < 0 {
				val, s = s, ""
			} else {
				val, s = s[:e], s[e:]
			}
		}
		out = append(out, [2]string{name, strings.TrimSpace(val)})
		s = strings.TrimSpace(s)
	}
	return out
}

// authStripComments removes RFC 5322 comments (nested parentheses)
// outside quoted strings.
func authStripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (inQuote || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
		case c == '"' && depth == 0:
			inQuote = !inQuote
			b.WriteByte(c)
		case inQuote:
			b.WriteByte(c)
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// authSplit splits s at sep outside quoted strings.
func authSplit(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case sep:
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// authDomainOf returns the domain of an address, or the value itself when
// it has no "@" (smtp.mailfrom may be a bare domain).
func authDomainOf(v string) string {
	v = strings.Trim(strings.TrimSpace(v), "<>")
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		return v[i+1:]
	}
	return v
}

func authFirst(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// authDMARCPolicy returns the policy (none, quarantine or reject) the From
// domain publishes, as a dmarc result states it: policy.published-domain-
// policy (RFC 7489 §11.2), rspamd's policy.dmarc, Microsoft's action
// (oreject: reject overridden locally), or the "(p=REJECT ...)" comment
// Gmail and OpenDMARC write (fromComment).
func authDMARCPolicy(props map[string]string, fromComment string) string {
	for _, k := range []string{"policy.published-domain-policy", "policy.dmarc", "action"} {
		switch v := strings.ToLower(props[k]); v {
		case "none", "quarantine", "reject":
			return v
		case "oreject", "pct.reject":
			return "reject"
		case "pct.quarantine":
			return "quarantine"
		}
	}
	return fromComment
}

// authDMARCCommentPolicy finds the policy in a comment that follows a
// dmarc result: "dmarc=fail (p=REJECT sp=REJECT dis=QUARANTINE)" (Gmail,
// OpenDMARC) or "... header.from=example.org (policy=reject)" (rspamd).
func authDMARCCommentPolicy(v string) string {
	lv := strings.ToLower(v)
	for i := strings.Index(lv, "dmarc"); i >= 0; {
		rest := lv[i+len("dmarc"):]
		seg := rest
		if end := strings.IndexByte(rest, ';'); end >= 0 {
			seg = rest[:end]
		}
		for o := strings.IndexByte(seg, '('); o >= 0; {
			c := strings.IndexByte(seg[o:], ')')
			if c < 0 {
				break
			}
			for _, f := range strings.FieldsFunc(seg[o+1:o+c], func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
				for _, key := range []string{"p=", "policy="} {
					if p, ok := strings.CutPrefix(f, key); ok && (p == "none" || p == "quarantine" || p == "reject") {
						return p
					}
				}
			}
			seg = seg[o+c:]
			o = strings.IndexByte(seg, '(')
		}
		j := strings.Index(rest, "dmarc")
		if j < 0 {
			break
		}
		i += len("dmarc") + j
	}
	return ""
}
