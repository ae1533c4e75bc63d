package mailbox

import (
	"strings"

	"github.com/emersion/go-message"

	"github.com/helpdeskd/helpdesk"
)

// authResultsFromHeader parses every Authentication-Results field of the
// message (RFC 8601), topmost (most recently added) first. Whether a field
// can be trusted depends on its authserv-id and is for the desk to decide.
func authResultsFromHeader(h *message.Header) []helpdesk.AuthResult {
	var out []helpdesk.AuthResult
	for _, v := range hdrValues(h, "Authentication-Results") {
		out = append(out, parseAuthResults(v)...)
	}
	return out
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
	v = authStripComments(parseValidUTF8(v))
	segs := authSplit(v, ';')
	if len(segs) < 2 {
		return nil
	}
	idf := strings.Fields(segs[0])
	if len(idf) == 0 {
		return nil
	}
	servID := strings.ToLower(strings.Trim(idf[0], `"`))
	var out []helpdesk.AuthResult
	for _, seg := range segs[1:] {
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
