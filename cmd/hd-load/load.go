package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Options is one load run.
type Options struct {
	N           int           // mails to send
	Rate        float64       // mails per second; 0: as fast as the connections allow
	Concurrency int           // IMAP connections APPENDing in parallel
	Timeout     time.Duration // wait for acks after the last APPEND, and for the warm-up ack

	// Self runs the IMAP and SMTP servers in-process and the daemon as a
	// child; otherwise IMAPAddr and SMTPListen name the operator's setup.
	Self      bool
	Helpdeskd string // daemon binary for Self; "" builds it
	IDLE      bool   // Self: the daemon waits with IDLE (false: polls every second)
	Agents    int    // Self: agents notified of each new ticket
	SMTPConns int    // Self: the daemon's [smtp] connections
	Keep      bool   // Self: keep the temp dir

	IMAPAddr   string
	IMAPUser   string
	IMAPPass   string
	IMAPTLS    bool
	Folder     string
	To         string // support address
	SMTPListen string

	JSON     bool
	Progress io.Writer // progress lines; nil: none
}

func (o *Options) check() error {
	var errs []error
	if o.N <= 0 {
		errs = append(errs, errors.New("-n must be positive"))
	}
	if o.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	if o.Concurrency <= 0 {
		errs = append(errs, errors.New("-concurrency must be positive"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	if !o.Self {
		if o.IMAPAddr == "" {
			errs = append(errs, errors.New("without -self, -imap is required"))
		}
		if o.SMTPListen == "" {
			errs = append(errs, errors.New("without -self, -smtp-listen is required (the daemon's [smtp] host and port)"))
		}
		if o.IMAPPass == "" {
			errs = append(errs, errors.New("without -self, $HD_LOAD_IMAP_PASSWORD must hold the IMAP password"))
		}
	} else {
		if o.Agents < 0 {
			errs = append(errs, errors.New("-agents must not be negative"))
		}
		if o.SMTPConns < 1 || o.SMTPConns > 16 {
			errs = append(errs, errors.New("-smtp-connections must be between 1 and 16"))
		}
	}
	return errors.Join(errs...)
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "hd-load: "+format+"\n", args...)
	}
}

// record is one mail of the run.
type record struct {
	seq      int
	id       string // Message-ID without brackets
	customer string // sender, lower case: the ack's recipient
	start    time.Time
	appended time.Time // APPEND completed
	err      error     // APPEND failed
	ack      time.Time // set by the SMTP peer
}

// Run performs one load run: it sets up the servers (and the daemon, with
// Self), sends one warm-up mail and waits for its ack, then APPENDs
// o.N mails at o.Rate and waits up to o.Timeout after the last for their
// acks. The Result is returned whenever the measured part ran, also with
// an error.
func Run(ctx context.Context, o Options) (*Result, error) {
	runID := randomHex(4)
	peer := newPeer()
	listen := o.SMTPListen
	if o.Self && listen == "" {
		listen = "127.0.0.1:0"
	}
	if err := peer.listen(listen); err != nil {
		return nil, err
	}
	defer peer.close()

	res := &Result{N: o.N, Rate: o.Rate, Concurrency: o.Concurrency, Mode: "external", IDLE: o.IDLE}
	target := imapTarget{addr: o.IMAPAddr, user: o.IMAPUser, pass: o.IMAPPass, tls: o.IMAPTLS, folder: o.Folder}
	var d *daemon
	if o.Self {
		res.Mode = "self"
		srv, err := startIMAP(o.To, o.Folder)
		if err != nil {
			return nil, err
		}
		defer srv.close()
		target = imapTarget{addr: srv.addr, user: srv.user, pass: srv.pass, folder: o.Folder}
		d, err = startDaemon(ctx, o, srv, peer.addr)
		if err != nil {
			return nil, err
		}
		defer d.stop(o)
		res.DaemonPID = d.pid()
	}

	// Warm-up: proves the whole path (and, with Self, that the daemon is
	// up and has its mailbox selected) before the clock starts.
	warm := &record{seq: -1, id: fmt.Sprintf("hd-load.%s.warmup@load.example", runID), customer: fmt.Sprintf("warmup.%s@load.example", runID)}
	peer.expect([]*record{warm})
	o.progress("warm-up: one mail, waiting for its ack (up to %s)", o.Timeout)
	if err := appendOne(ctx, target, warm, o.To, runID); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	if err := peer.wait(ctx, 1, time.Now().Add(o.Timeout), d.exited()); err != nil {
		return nil, fmt.Errorf("warm-up mail not acknowledged: %w%s", err, d.logTail())
	}
	o.progress("warm-up acknowledged in %s; sending %d mails at %s over %d connection(s)",
		warm.ack.Sub(warm.start).Round(time.Millisecond), o.N, rateText(o.Rate), o.Concurrency)

	recs := make([]*record, o.N)
	for i := range recs {
		recs[i] = &record{seq: i, id: fmt.Sprintf("hd-load.%s.%d@load%d.example", runID, i, i%100),
			customer: fmt.Sprintf("customer%d.%s@load%d.example", i, runID, i%100)}
	}
	peer.reset()
	peer.expect(recs)
	sendErr := send(ctx, target, recs, o, runID)
	sent := 0
	for _, r := range recs {
		if r.err == nil && !r.start.IsZero() {
			sent++
		}
	}
	o.progress("%d mails APPENDed; waiting up to %s for the acks", sent, o.Timeout)
	waitErr := peer.wait(ctx, sent, time.Now().Add(o.Timeout), d.exited())
	if waitErr == nil && o.Self {
		// The last tickets' notifications may trail their acks; give
		// them a moment so that the count is complete.
		peer.waitFor(ctx, func() bool {
			acked, _, notes, _ := peer.counts()
			return notes >= acked*o.Agents
		}, time.Now().Add(5*time.Second), d.exited())
	}
	if d != nil {
		res.PeakRSS = d.peakRSS()
	}
	res.fill(recs, peer)
	switch {
	case sendErr != nil:
		return res, sendErr
	case errors.Is(waitErr, errDaemonExited):
		return res, fmt.Errorf("%w%s", waitErr, d.logTail())
	case waitErr != nil && !errors.Is(waitErr, errTimeout):
		return res, waitErr
	}
	return res, nil
}

func rateText(rate float64) string {
	if rate == 0 {
		return "full speed"
	}
	return fmt.Sprintf("%g/s", rate)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// imapTarget is where mails are APPENDed.
type imapTarget struct {
	addr, user, pass string
	tls              bool
	folder           string
}

func (t imapTarget) dial() (*imapclient.Client, error) {
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}}
	var c *imapclient.Client
	var err error
	if t.tls {
		c, err = imapclient.DialTLS(t.addr, opts)
	} else {
		c, err = imapclient.DialInsecure(t.addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("dial imap %s: %w", t.addr, err)
	}
	if err := c.Login(t.user, t.pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login %s as %s: %w", t.addr, t.user, err)
	}
	return c, nil
}

// appendMail APPENDs r's mail on c, recording when it started and ended.
func appendMail(c *imapclient.Client, folder string, r *record, to, runID string) error {
	raw := loadMail(r, to, runID)
	r.start = time.Now()
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return fmt.Errorf("append mail %d: %w", r.seq, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("append mail %d: %w", r.seq, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("append mail %d: %w", r.seq, err)
	}
	r.appended = time.Now()
	return nil
}

func appendOne(ctx context.Context, t imapTarget, r *record, to, runID string) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := appendMail(c, t.folder, r, to, runID); err != nil {
		r.err = err
		return err
	}
	c.Logout().Wait()
	return ctx.Err()
}

// send APPENDs every record over o.Concurrency connections. With a rate,
// mail i is handed to a connection at start + i/rate (an open-loop
// schedule: a slow APPEND delays the mails behind it on that connection,
// never the schedule); its latency counts from its own APPEND start.
// It returns the first connection error; failed APPENDs are marked on
// their records and the run goes on.
func send(ctx context.Context, t imapTarget, recs []*record, o Options, runID string) error {
	jobs := make(chan *record, len(recs))
	var wg sync.WaitGroup
	var failures atomic.Int64
	errs := make(chan error, o.Concurrency)
	for range o.Concurrency {
		wg.Go(func() {
			c, err := t.dial()
			if err != nil {
				errs <- err // the other connections take its share
				return
			}
			defer c.Close()
			for r := range jobs {
				if ctx.Err() != nil {
					return
				}
				if err := appendMail(c, t.folder, r, o.To, runID); err != nil {
					r.err = err
					if failures.Add(1) == 1 {
						o.progress("APPEND failed: %v", err)
					}
				}
			}
			c.Logout().Wait()
		})
	}
	start := time.Now()
	for i, r := range recs {
		if o.Rate > 0 {
			at := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return err
	}
	return ctx.Err()
}
