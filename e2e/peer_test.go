//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// captured is one mail the SMTP peer accepted.
type captured struct {
	From   string
	To     []string
	Header mail.Header
	Body   string
	At     time.Time // when the peer had the whole message (just before its 250)
}

func (c captured) header(k string) string { return c.Header.Get(k) }

// messageID is the Message-ID without angle brackets.
func (c captured) messageID() string { return strings.Trim(c.header("Message-Id"), "<> ") }

// peer is the SMTP server the daemon sends through: go-smtp, recording
// every mail it accepts. It can go down (listener and connections closed)
// and come back on the same address.
type peer struct {
	addr string

	mu    sync.Mutex
	srv   *smtp.Server
	mails []captured
	news  chan struct{} // a mail arrived (buffer of one)
}

// newPeer starts a peer on a free loopback port; it stops with the test.
func newPeer(t testing.TB) *peer {
	t.Helper()
	p := &peer{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), news: make(chan struct{}, 1)}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

// up starts serving on p.addr.
func (p *peer) up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("smtp peer listen %s: %v", p.addr, err)
	}
	srv := smtp.NewServer(p)
	srv.Domain = "peer.example"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0) // cut sessions are part of the tests
	p.mu.Lock()
	p.addr, p.srv = ln.Addr().String(), srv
	p.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every open connection.
func (p *peer) down() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// NewSession implements smtp.Backend.
func (p *peer) NewSession(*smtp.Conn) (smtp.Session, error) { return &peerSession{p: p}, nil }

type peerSession struct {
	p    *peer
	from string
	to   []string
}

func (s *peerSession) Reset()        { s.from, s.to = "", nil }
func (s *peerSession) Logout() error { return nil }

func (s *peerSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // a cut transfer is not a mail
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	c := captured{From: s.from, To: append([]string(nil), s.to...), Header: msg.Header, Body: string(body), At: time.Now()}
	s.p.mu.Lock()
	s.p.mails = append(s.p.mails, c)
	s.p.mu.Unlock()
	select {
	case s.p.news <- struct{}{}:
	default:
	}
	return nil
}

// all returns every mail accepted so far, in order.
func (p *peer) all() []captured {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]captured(nil), p.mails...)
}

// wait returns the first accepted mail (old or new) that matches, waiting
// up to timeout for one.
func (p *peer) wait(t testing.TB, what string, timeout time.Duration, match func(captured) bool) captured {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, m := range p.all() {
			if match(m) {
				return m
			}
		}
		select {
		case <-p.news:
		case <-time.After(200 * time.Millisecond):
		case <-deadline.C:
			var got []string
			for _, m := range p.all() {
				got = append(got, fmt.Sprintf("%v %q", m.To, m.header("Subject")))
			}
			t.Fatalf("timed out after %v waiting for %s; the peer has: %s", timeout, what, strings.Join(got, "; "))
		}
	}
}

// to matches mail addressed to addr.
func to(addr string) func(captured) bool {
	return func(m captured) bool {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				return true
			}
		}
		return false
	}
}

// subjectHas matches mail whose subject contains s.
func subjectHas(s string) func(captured) bool {
	return func(m captured) bool { return strings.Contains(m.header("Subject"), s) }
}

// bodyHas matches mail whose body contains s.
func bodyHas(s string) func(captured) bool {
	return func(m captured) bool { return strings.Contains(m.Body, s) }
}

// all of the matchers.
func and(fs ...func(captured) bool) func(captured) bool {
	return func(m captured) bool {
		for _, f := range fs {
			if !f(m) {
				return false
			}
		}
		return true
	}
}

// refOf returns the ticket reference at the end of a subject ("... [HD-1000]").
func refOf(t testing.TB, m captured) string {
	t.Helper()
	s := m.header("Subject")
	i, j := strings.LastIndex(s, "["), strings.LastIndex(s, "]")
	if i < 0 || j < i {
		t.Fatalf("no [reference] in subject %q", s)
	}
	return s[i+1 : j]
}

// address returns the bare address of a header like Reply-To.
func address(t testing.TB, m captured, key string) string {
	t.Helper()
	a, err := mail.ParseAddress(m.header(key))
	if err != nil {
		t.Fatalf("%s %q: %v", key, m.header(key), err)
	}
	return a.Address
}

// onceEach checks the peer's mails to customers: every customer in want got
// exactly one distinct mail (by Message-ID) whose subject carries their
// subject, and no Message-ID arrived twice unless tolerated says so. It
// returns the number of tolerated repeats.
func onceEach(t testing.TB, mails []captured, want map[string]string, tolerated func(first captured) bool) (repeats int) {
	t.Helper()
	byID := map[string][]captured{}
	perCustomer := map[string]map[string]bool{}
	for _, m := range mails {
		id := m.messageID()
		if id == "" {
			t.Errorf("mail to %v %q has no Message-ID", m.To, m.header("Subject"))
			continue
		}
		byID[id] = append(byID[id], m)
		for _, r := range m.To {
			r = strings.ToLower(r)
			if _, ok := want[r]; ok {
				if perCustomer[r] == nil {
					perCustomer[r] = map[string]bool{}
				}
				perCustomer[r][id] = true
			}
		}
	}
	for id, ms := range byID {
		if len(ms) < 2 {
			continue
		}
		if tolerated != nil && len(ms) == 2 && tolerated(ms[0]) {
			repeats++
			continue
		}
		t.Errorf("Message-ID <%s> arrived %d times at the peer (to %v, %q)", id, len(ms), ms[0].To, ms[0].header("Subject"))
	}
	for cust, subj := range want {
		ids := perCustomer[cust]
		if len(ids) != 1 {
			t.Errorf("%s got %d distinct mails, want exactly 1 acknowledgement", cust, len(ids))
			continue
		}
		for id := range ids {
			if got := byID[id][0].header("Subject"); !strings.Contains(got, subj) {
				t.Errorf("%s's acknowledgement has subject %q, want it to contain %q", cust, got, subj)
			}
		}
	}
	return repeats
}
