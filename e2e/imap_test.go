//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// The test user on every IMAP server of this package (Dovecot's recipe
// creates the same one).
const (
	imapUser = "testuser"
	imapPass = "testpass"
)

// processedFlag is the keyword helpdeskd sets on committed mail by default.
const processedFlag = "$HelpdeskProcessed"

// newMemIMAP starts testenv's in-memory IMAP server, with the capabilities
// of Dovecot that helpdeskd uses (IDLE, MOVE, UIDPLUS) and the test user,
// and returns its address. It stops with the test.
func newMemIMAP(t testing.TB) string {
	t.Helper()
	return testenv.StartIMAP(t, testenv.IMAPOptions{User: imapUser, Password: imapPass}).Addr()
}

// appendMails APPENDs mails to INBOX over one connection, as a customer's
// MTA would deliver them.
func appendMails(t testing.TB, addr string, raws ...[]byte) {
	t.Helper()
	testenv.AppendIMAP(t, addr, imapUser, imapPass, "INBOX", raws...)
}

// inboxState counts the mails in INBOX and those without the processed
// keyword.
func inboxState(t testing.TB, addr string) (total, unprocessed int) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("imap dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatalf("imap login: %v", err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("select INBOX: %v", err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{processedFlag}}, nil).Wait()
	if err != nil {
		t.Fatalf("search unprocessed: %v", err)
	}
	c.Logout().Wait()
	return int(sel.NumMessages), len(data.AllUIDs())
}

// customerMail is a small incident report.
func customerMail(from, subject, id, body string) []byte {
	return testenv.CRLF(fmt.Sprintf("From: %s\nTo: Example Support <support@example.com>\nSubject: %s\nMessage-ID: <%s>\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n",
		from, subject, id, time.Now().UTC().Format(time.RFC1123Z), body))
}

// --- a proxy that cuts FETCH responses ---------------------------------------------

// cutProxy sits between the daemon and an IMAP server. Armed, it cuts the
// connection (both directions) in the middle of a FETCH response: after a
// chosen number of bytes of the literal of a BODY[] item. Everything else
// passes untouched.
type cutProxy struct {
	addr     string
	upstream string
	ln       net.Listener

	mu    sync.Mutex
	armed bool
	skip  int           // body literals to let through before the cut
	at    func(int) int // offset in a literal of the given size where to cut
	cuts  int           // connections cut so far
	conns map[net.Conn]bool
}

func newCutProxy(t testing.TB, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), upstream: upstream, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// arm makes the proxy cut the connection carrying the (skip+1)-th body
// literal from now on, at offset at(size) of it, then disarm.
func (p *cutProxy) arm(skip int, at func(size int) int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.skip, p.at = true, skip, at
}

// cutCount returns how many connections were cut.
func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// decide is called at the start of every body literal: it returns the
// offset to cut at, or -1.
func (p *cutProxy) decide(size int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.armed {
		return -1
	}
	if p.skip > 0 {
		p.skip--
		return -1
	}
	p.armed = false
	p.cuts++
	return min(max(p.at(size), 0), size)
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *cutProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *cutProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *cutProxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client, server)
	go func() {
		io.Copy(server, client)
		p.untrack(client, server)
	}()
	var m literalScanner
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if cut := m.scan(buf[:n], p.decide); cut >= 0 {
				client.Write(buf[:cut])
				return // the deferred untrack closes both sides
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// literalScanner follows a server-to-client IMAP stream and finds the
// literals of "BODY[] {n}" items (RFC 9051 §7.5.2: msg-att-static).
type literalScanner struct {
	state   int // 0 searching, 1 reading the size, 2 expecting LF, 3 in a literal
	matched int // bytes of the marker matched
	size    int
	left    int // literal bytes still to pass
	cutLeft int // literal bytes before the cut; -1 when not cutting this literal
}

var bodyMarker = []byte("BODY[] {")

// scan consumes one chunk and returns the index in it at which to cut, or -1.
// decide is asked at the start of each literal.
func (s *literalScanner) scan(b []byte, decide func(size int) int) int {
	for i := 0; i < len(b); {
		switch s.state {
		case 0:
			c := b[i]
			i++
			if c == bodyMarker[s.matched] {
				s.matched++
				if s.matched == len(bodyMarker) {
					s.state, s.matched, s.size = 1, 0, 0
				}
			} else if c == bodyMarker[0] {
				s.matched = 1
			} else {
				s.matched = 0
			}
		case 1:
			c := b[i]
			i++
			switch {
			case c >= '0' && c <= '9':
				s.size = s.size*10 + int(c-'0')
			case c == '}':
				s.state = 2
			case c == '\r' || c == '+': // "{n+}" is client-side only, but harmless
			default:
				s.state = 0 // not a literal after all
			}
		case 2:
			c := b[i]
			i++
			if c == '\n' {
				s.state, s.left, s.cutLeft = 3, s.size, decide(s.size)
				if s.cutLeft == 0 {
					return i
				}
			} else if c != '\r' {
				s.state = 0
			}
		case 3:
			n := min(s.left, len(b)-i)
			if s.cutLeft >= 0 && s.cutLeft <= n {
				return i + s.cutLeft
			}
			i += n
			s.left -= n
			if s.cutLeft >= 0 {
				s.cutLeft -= n
			}
			if s.left == 0 {
				if s.cutLeft == 0 {
					return i
				}
				s.state = 0
			}
		}
	}
	return -1
}

// literalOf is a body for a mail of at least n bytes, wrapped at 72
// columns, that never contains the proxy's marker.
func literalOf(seed string, n int) string {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s line %04d: the report export keeps failing with error code E%03d.\n", seed, i, i%997)
	}
	return b.String()
}
