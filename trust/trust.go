// Package trust decides which Authentication-Results of a mail were
// written by our own receiving servers (RFC 8601 §5 and §7.1). Anybody can
// put any header field into a mail, including one that names our
// authserv-id and says dkim=pass; only the position of a field proves who
// wrote it. Our servers add their fields on top of the mail, so a result
// counts only where our servers write results: above (or, for providers
// such as Gmail and Postfix's milters, as the first fields directly below)
// the Received: field with which our server took the mail from the
// outside. Everything here is pure.
package trust

import (
	"fmt"
	"path"
	"strings"

	"github.com/helpdeskd/helpdesk"
)

// Policy says where our own servers write their results.
type Policy struct {
	// AuthServIDs are the authserv-ids of our receiving servers, lower
	// case. "" stands for a result field that names none (Microsoft 365
	// writes its results without one).
	AuthServIDs []string
	// Hops is the number of Received: fields our own servers add at the
	// top of a mail, counting the one with which they took the mail from
	// the outside (the boundary). 0 means 1.
	Hops int
	// BoundaryHosts, when set, find the boundary by name instead of by
	// count: it is the topmost Received: field whose "by" host matches one
	// of these patterns (path.Match syntax, e.g. "*.protection.outlook.com"),
	// for providers whose internal hop count varies.
	BoundaryHosts []string
	// Below is the number of Authentication-Results fields our servers
	// write just below the boundary Received: field rather than above it:
	// a Postfix milter (OpenDKIM, OpenDMARC, rspamd) inserts its field
	// there, one per milter, and so does Gmail (one). Those first Below
	// fields count, with any ARC-Authentication-Results between them; a
	// later one naming our authserv-id is the sender's. 0: our results
	// stand above the boundary (Microsoft 365).
	Below int
}

// Verdict is what the position rule makes of a mail's results.
type Verdict struct {
	Trusted []helpdesk.AuthResult // written by our own servers
	// Forged are results that name one of our authserv-ids where our
	// servers never write: the sender wrote them.
	Forged []helpdesk.AuthResult
	// Boundary is the index in Message.Received of the field with which
	// our server took the mail from the outside; -1 when the mail has none.
	Boundary int
}

// Suspicion explains the verdict's forged results in one sentence for the
// ticket's audit trail and the agents; "" when there are none.
func (v Verdict) Suspicion() string {
	if len(v.Forged) == 0 {
		return ""
	}
	f := v.Forged[0]
	where := "below the Received: field with which our server took the mail"
	if v.Boundary < 0 {
		where = "in a mail that never passed our receiving server's boundary Received: field"
	}
	return fmt.Sprintf("forged %s: a field claiming our authserv-id %q (%s=%s) stands %s",
		f.Header, f.AuthServID, f.Method, f.Result, where)
}

// ours reports whether id is one of our authserv-ids.
func (p Policy) ours(id string) bool {
	for _, o := range p.AuthServIDs {
		if strings.EqualFold(o, id) {
			return true
		}
	}
	return false
}

// boundary returns the index of the boundary Received: field, or -1.
func (p Policy) boundary(received []string) int {
	if len(p.BoundaryHosts) > 0 {
		for i, by := range received {
			for _, pat := range p.BoundaryHosts {
				if ok, _ := path.Match(strings.ToLower(pat), by); ok && by != "" {
					return i
				}
			}
		}
		return -1
	}
	hops := max(p.Hops, 1)
	if len(received) < hops {
		return -1
	}
	return hops - 1
}

// Judge sorts the results of m into those our servers wrote and those
// forged by the sender. A result whose authserv-id is not ours is in
// neither: it is somebody else's opinion and proves nothing to us. Nor
// are results of earlier hops, which stand further down, below another
// Received: field, or which are ARC sets of a lower instance below the
// boundary (RFC 8617: a forwarder of the same provider writes its own):
// they prove nothing to us, and nothing says the sender wrote them. What
// is forged is an Authentication-Results field naming one of our
// authserv-ids in the sender's own header block, directly below the
// boundary where our servers did not write it, or in a mail that never
// passed our boundary at all.
func (p Policy) Judge(m *helpdesk.Message) Verdict {
	v := Verdict{Boundary: p.boundary(m.Received)}
	lastOurs := -1 // the header position of the last of the Below fields our servers wrote under the boundary
	if p.Below > 0 && v.Boundary >= 0 {
		n, prev := 0, -1
		for _, r := range m.AuthResults {
			if r.Header == "Authentication-Results" && r.ReceivedAbove == v.Boundary+1 && r.Field != prev {
				prev = r.Field
				if n++; n <= p.Below {
					lastOurs = r.Field
				}
			}
		}
	}
	for _, r := range m.AuthResults {
		if !p.ours(r.AuthServID) {
			continue
		}
		switch {
		case v.Boundary < 0:
			if r.AuthServID != "" {
				v.Forged = append(v.Forged, r)
			}
		case r.ReceivedAbove <= v.Boundary:
			v.Trusted = append(v.Trusted, r)
		case r.ReceivedAbove == v.Boundary+1 && r.Field <= lastOurs:
			v.Trusted = append(v.Trusted, r)
		case r.ReceivedAbove == v.Boundary+1 && r.Header == "Authentication-Results" && r.AuthServID != "":
			v.Forged = append(v.Forged, r)
		}
	}
	return v
}

// Pass returns the trusted dkim or spf pass for domain, if there is one:
// the proof that a mail claiming a From in domain came from it.
func (v Verdict) Pass(domain string) (helpdesk.AuthResult, bool) {
	for _, r := range v.Trusted {
		if !strings.EqualFold(r.Result, "pass") || !strings.EqualFold(r.Domain, domain) {
			continue
		}
		if m := strings.ToLower(r.Method); m == "dkim" || m == "spf" {
			return r, true
		}
	}
	return helpdesk.AuthResult{}, false
}

// DMARCRejected returns the trusted dmarc failure of a domain that asks
// receivers to reject or quarantine such mail (RFC 7489 §6.3), if any.
func (v Verdict) DMARCRejected() (helpdesk.AuthResult, bool) {
	for _, r := range v.Trusted {
		if strings.EqualFold(r.Method, "dmarc") && strings.EqualFold(r.Result, "fail") &&
			(r.Policy == "reject" || r.Policy == "quarantine") {
			return r, true
		}
	}
	return helpdesk.AuthResult{}, false
}

// DMARCFailed returns a trusted dmarc failure, whatever the domain's
// policy: our own server found the From not authentic.
func (v Verdict) DMARCFailed() (helpdesk.AuthResult, bool) {
	for _, r := range v.Trusted {
		if strings.EqualFold(r.Method, "dmarc") && strings.EqualFold(r.Result, "fail") {
			return r, true
		}
	}
	return helpdesk.AuthResult{}, false
}
