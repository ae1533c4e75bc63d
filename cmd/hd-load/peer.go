package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// peer is the SMTP server the daemon sends through. It reads each mail's
// header, matches an ack to the load mail it answers (In-Reply-To names
// the mail's Message-ID and the envelope recipient is the mail's sender),
// and records when its DATA ended. Everything else is counted and dropped.
type peer struct {
	srv  *smtp.Server
	addr string

	mu            sync.Mutex
	byID          map[string]*record
	acked         int
	duplicates    int // a second ack for one mail
	notifications int // mail answering a load mail to anyone but its sender
	other         int // mail naming no load mail
	wake          chan struct{}
}

func newPeer() *peer {
	p := &peer{byID: map[string]*record{}, wake: make(chan struct{}, 1)}
	p.srv = smtp.NewServer(p)
	p.srv.Domain = "hd-load.localhost"
	p.srv.AllowInsecureAuth = true
	p.srv.ReadTimeout = time.Minute
	p.srv.WriteTimeout = time.Minute
	p.srv.MaxMessageBytes = 32 << 20
	p.srv.MaxRecipients = 1000
	return p
}

func (p *peer) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp listen %s: %w", addr, err)
	}
	p.addr = ln.Addr().String()
	go p.srv.Serve(ln)
	return nil
}

func (p *peer) close() { p.srv.Close() }

// expect registers mails whose acks to look for.
func (p *peer) expect(recs []*record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range recs {
		p.byID[r.id] = r
	}
}

// reset forgets the counts (after the warm-up).
func (p *peer) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acked, p.duplicates, p.notifications, p.other = 0, 0, 0, 0
}

// counts returns what the peer has received since the last reset.
func (p *peer) counts() (acked, duplicates, notifications, other int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked, p.duplicates, p.notifications, p.other
}

var (
	errTimeout      = errors.New("timed out waiting for acks")
	errDaemonExited = errors.New("the daemon exited")
)

// wait returns when n acks have arrived since the last reset, or with
// errTimeout at the deadline, or errDaemonExited when exited is closed.
func (p *peer) wait(ctx context.Context, n int, deadline time.Time, exited <-chan struct{}) error {
	err := p.waitFor(ctx, func() bool { acked, _, _, _ := p.counts(); return acked >= n }, deadline, exited)
	if errors.Is(err, errTimeout) {
		acked, _, _, _ := p.counts()
		return fmt.Errorf("%w: %d of %d after the deadline", err, acked, n)
	}
	return err
}

// waitFor returns when cond holds, checking it after every mail received.
func (p *peer) waitFor(ctx context.Context, cond func() bool, deadline time.Time, exited <-chan struct{}) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-p.wake:
		case <-timer.C:
			return errTimeout
		case <-exited:
			return errDaemonExited
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// delivered records one received mail.
func (p *peer) delivered(rcpts []string, inReplyTo string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}()
	r := p.byID[inReplyTo]
	if r == nil {
		p.other++
		return
	}
	toSender := false
	for _, rc := range rcpts {
		if strings.EqualFold(rc, r.customer) {
			toSender = true
		}
	}
	switch {
	case !toSender:
		if r.seq >= 0 { // the warm-up's notifications may trail its ack
			p.notifications++
		}
	case !r.ack.IsZero():
		p.duplicates++
	default:
		r.ack = at
		p.acked++
	}
}

// NewSession implements smtp.Backend.
func (p *peer) NewSession(*smtp.Conn) (smtp.Session, error) { return &peerSession{p: p}, nil }

type peerSession struct {
	p     *peer
	rcpts []string
}

func (s *peerSession) Reset()                               { s.rcpts = nil }
func (s *peerSession) Logout() error                        { return nil }
func (s *peerSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data reads the header, drains the body and records the mail when the
// whole DATA has arrived.
func (s *peerSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read header: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	s.p.delivered(s.rcpts, messageID(h.Get("In-Reply-To")), time.Now())
	return nil
}

// messageID returns the first msg-id of an In-Reply-To field without its
// angle brackets (RFC 5322 §3.6.4).
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	if f := strings.Fields(v); len(f) > 0 {
		return strings.Trim(f[0], "<>")
	}
	return ""
}
