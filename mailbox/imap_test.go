package mailbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// This file holds the test harness of the wire: a real IMAP server
// (testenv's in-memory one) on a loopback listener, a map-backed desk that
// honours the Handler contract, a goroutine leak check and a self-signed
// certificate.

// wireLeakCheck fails the test if goroutines started during it are still
// running 5s after it is over. Call it first, so that its cleanup runs
// last.
func wireLeakCheck(t *testing.T) {
	t.Helper()
	testenv.CheckGoroutines(t, 5*time.Second)
}

// waitUntil is testenv.WaitFor in the argument order of the wire's tests.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, timeout, cond)
}

// wireCert returns a server TLS config with a self-signed certificate for
// 127.0.0.1 and localhost, and a client config trusting it.
func wireCert(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "helpdeskd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// syncBuffer is a log sink for assertions on what was logged.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

// line returns the first logged line that contains s, or "".
func (b *syncBuffer) line(s string) string {
	for l := range strings.Lines(b.String()) {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// testLogger logs at debug level into a buffer the test can read.
func testLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

const (
	testUser = "desk@example.com"
	testPass = "secret"
)

// imapTestServer is testenv's in-memory IMAP server, which can be stopped
// and restarted on the same address with the same mailboxes, with the
// client side of its TLS.
type imapTestServer struct {
	*testenv.IMAP
	tlsClient *tls.Config // set with withTLS
	startTLS  bool
}

// capsModern is a server with MOVE and UIDPLUS; capsCopy has UIDPLUS but
// no MOVE; capsBare has neither.
var (
	capsModern = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	capsCopy   = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}
	capsBare   = imap.CapSet{imap.CapIMAP4rev1: {}}
)

type imapServerOpt func(*imapTestServer, *testenv.IMAPOptions)

// withTLS serves implicit TLS, or STARTTLS when starttls is set.
func withTLS(t testing.TB, starttls bool) imapServerOpt {
	return func(s *imapTestServer, o *testenv.IMAPOptions) {
		o.TLS, s.tlsClient = wireCert(t)
		o.StartTLS, s.startTLS = starttls, starttls
	}
}

// fetchHook serves a FETCH in place of the session's own Fetch, which it
// may call.
type fetchHook func(sess imapserver.Session, w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error

// withFetchHook serves every FETCH through fn.
func withFetchHook(fn fetchHook) imapServerOpt {
	return wrapSessions(func(sess imapserver.Session) imapserver.Session {
		return hookedSession{SessionMove: sess.(imapserver.SessionMove), hook: fn}
	})
}

// withSelectCount counts the SELECT commands of every session in n.
func withSelectCount(n *atomic.Int64) imapServerOpt {
	return wrapSessions(func(sess imapserver.Session) imapserver.Session {
		return countingSession{SessionMove: sess.(imapserver.SessionMove), n: n}
	})
}

// wrapSessions wraps every session in wrap, around the wrappers of the
// options before it.
func wrapSessions(wrap func(imapserver.Session) imapserver.Session) imapServerOpt {
	return func(_ *imapTestServer, o *testenv.IMAPOptions) {
		if inner := o.Session; inner != nil {
			o.Session = func(sess imapserver.Session) imapserver.Session { return wrap(inner(sess)) }
		} else {
			o.Session = wrap
		}
	}
}

// countingSession is a memserver session that counts its SELECTs.
type countingSession struct {
	imapserver.SessionMove
	n *atomic.Int64
}

func (s countingSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.n.Add(1)
	return s.SessionMove.Select(mailbox, options)
}

// hookedSession is a memserver session whose FETCH goes through a hook.
type hookedSession struct {
	imapserver.SessionMove
	hook fetchHook
}

func (s hookedSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	return s.hook(s.SessionMove, w, numSet, options)
}

func newIMAPTestServer(t testing.TB, caps imap.CapSet, opts ...imapServerOpt) *imapTestServer {
	t.Helper()
	s := &imapTestServer{}
	o := testenv.IMAPOptions{User: testUser, Password: testPass, Caps: caps}
	for _, opt := range opts {
		opt(s, &o)
	}
	s.IMAP = testenv.StartIMAP(t, o)
	return s
}

// config returns a fetcher configuration for this server with quick
// retries, for tests.
func (s *imapTestServer) config(name string) IMAPConfig {
	host, port, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.Atoi(port)
	cfg := IMAPConfig{
		Name: name, Host: host, Port: p, Security: SecurityNone,
		Username: testUser, Password: testPass,
		IDLE: true, PollInterval: time.Hour, IdleRefresh: time.Hour,
		Backoff: Backoff{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	}
	if s.tlsClient != nil {
		cfg.Security, cfg.TLSConfig = SecurityTLS, s.tlsClient
		if s.startTLS {
			cfg.Security = SecurityStartTLS
		}
	}
	return cfg
}

// uidValidity returns the folder's UIDVALIDITY.
func (s *imapTestServer) uidValidity(t *testing.T, folder string) uint32 {
	t.Helper()
	st, err := s.User().Status(folder, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		t.Fatal(err)
	}
	return st.UIDValidity
}

// testMsg is what the inspecting client sees of one mail.
type testMsg struct {
	UID   uint32
	Flags []imap.Flag
}

func (m testMsg) has(f imap.Flag) bool {
	return slices.ContainsFunc(m.Flags, func(g imap.Flag) bool { return strings.EqualFold(string(f), string(g)) })
}

// list reads a folder over IMAP with a client of its own; a missing folder
// reads as nil.
func (s *imapTestServer) list(t *testing.T, folder string) []testMsg {
	t.Helper()
	var c *imapclient.Client
	var err error
	if s.tlsClient != nil && !s.startTLS {
		c, err = imapclient.DialTLS(s.Addr(), &imapclient.Options{TLSConfig: s.tlsClient})
	} else {
		c, err = imapclient.DialInsecure(s.Addr(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Logout().Wait() }()
	sel, err := c.Select(folder, nil).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []testMsg
	for _, b := range bufs {
		out = append(out, testMsg{UID: uint32(b.UID), Flags: b.Flags})
	}
	return out
}

// testMail returns a small mail with the given Message-ID (without
// brackets) and extra header lines.
func testMail(id string, extra ...string) []byte {
	var b strings.Builder
	b.WriteString("From: Customer <customer@example.org>\r\n")
	b.WriteString("To: support@example.com\r\n")
	fmt.Fprintf(&b, "Subject: test %s\r\n", id)
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	b.WriteString("Date: Mon, 02 Jun 2025 09:15:00 +0000\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "\r\nHello, this is mail %s.\r\n", id)
	return []byte(b.String())
}

// testDesk is a map-backed desk: it implements Handler and Checkpoints as
// the real desk does, applying each batch as one transaction (the mails
// before a temporary failure are committed, nothing after it is tried, a
// panic commits nothing), moving the checkpoint with the mails and dropping
// duplicates by Message-ID. Mails with a header X-Test-Unreadable are
// rejected with helpdesk.ErrUnreadable (and the checkpoint moves, as the
// real desk does).
type testDesk struct {
	mu          sync.Mutex
	checkpoints map[string][2]uint32
	committed   map[string]Delivery // by Message-ID
	order       []string            // Message-IDs in commit order
	calls       map[uint32]int      // mails the desk worked on, by UID
	batches     []testBatch         // every Deliver call, in order
	duplicates  int
	rejected    []uint32
	resets      int // ResetCheckpoint calls that moved the checkpoint back

	// fail, when set, is asked before each mail; an error is returned as a
	// temporary failure of that mail, and a panic fails the batch.
	fail func(d Delivery) error
	// after, when set, runs for each committed mail after the commit,
	// before Deliver returns.
	after func(d Delivery)

	delivered chan Delivery // every committed mail, buffered
}

// testBatch is what one Deliver call was given.
type testBatch struct {
	uids  []uint32
	bytes int // the sum of len(Raw)
}

// errNotAttempted is the error of the mails after a temporary failure.
var errNotAttempted = errors.New("not attempted after a temporary failure")

func newTestDesk() *testDesk {
	return &testDesk{
		checkpoints: map[string][2]uint32{},
		committed:   map[string]Delivery{},
		calls:       map[uint32]int{},
		delivered:   make(chan Delivery, 1024),
	}
}

func (d *testDesk) Checkpoint(_ context.Context, mailbox string) (uint32, uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cp := d.checkpoints[mailbox]
	return cp[0], cp[1], nil
}

// ResetCheckpoint behaves like store.Store.ResetCheckpoint.
func (d *testDesk) ResetCheckpoint(_ context.Context, mailbox string, uv, last uint32) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.checkpoints[mailbox] != [2]uint32{uv, last} {
		return false, nil
	}
	d.checkpoints[mailbox] = [2]uint32{uv, 0}
	d.resets++
	return true, nil
}

// setCheckpoint behaves like store.Tx.SetCheckpoint.
func (d *testDesk) setCheckpoint(mailbox string, uv, uid uint32) {
	cp := d.checkpoints[mailbox]
	if cp[0] == uv {
		uid = max(uid, cp[1])
	}
	d.checkpoints[mailbox] = [2]uint32{uv, uid}
}

func (d *testDesk) Deliver(ctx context.Context, ds []Delivery) []error {
	b := testBatch{}
	for _, dl := range ds {
		b.uids = append(b.uids, dl.UID)
		b.bytes += len(dl.Raw)
	}
	d.mu.Lock()
	d.batches = append(d.batches, b)
	fail, after := d.fail, d.after
	d.mu.Unlock()

	// The transaction: what the batch does is staged in tx and applied at
	// the end, up to the first temporary failure.
	type staged struct {
		dl Delivery
		id string // Message-ID; "" when rejected
	}
	var tx []staged
	errs := make([]error, len(ds))
	for i, dl := range ds {
		err := ctx.Err()
		if err == nil {
			d.mu.Lock()
			d.calls[dl.UID]++
			d.mu.Unlock()
			if fail != nil {
				err = fail(dl)
			}
		}
		if err != nil {
			errs[i] = err
			for j := i + 1; j < len(ds); j++ {
				errs[j] = errNotAttempted
			}
			break
		}
		msg, err := mail.ReadMessage(bytes.NewReader(dl.Raw))
		if err != nil || msg.Header.Get("X-Test-Unreadable") != "" || dl.Unreadable != "" {
			errs[i] = fmt.Errorf("uid %d: %w %s", dl.UID, helpdesk.ErrUnreadable, dl.Unreadable)
			tx = append(tx, staged{dl: dl})
			continue
		}
		tx = append(tx, staged{dl: dl, id: strings.Trim(msg.Header.Get("Message-ID"), "<> ")})
	}

	d.mu.Lock()
	var committed []Delivery
	for _, st := range tx {
		d.setCheckpoint(st.dl.Mailbox, st.dl.UIDValidity, st.dl.UID)
		switch _, seen := d.committed[st.id]; {
		case st.id == "":
			d.rejected = append(d.rejected, st.dl.UID)
		case seen:
			d.duplicates++
		default:
			d.committed[st.id] = st.dl
			d.order = append(d.order, st.id)
		}
		if st.id != "" {
			committed = append(committed, st.dl)
		}
	}
	d.mu.Unlock()
	for _, dl := range committed {
		if after != nil {
			after(dl)
		}
		d.delivered <- dl
	}
	return errs
}

// batchLog returns the Deliver calls so far.
func (d *testDesk) batchLog() []testBatch {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.batches)
}

// batchSizes returns the number of mails of each Deliver call so far.
func (d *testDesk) batchSizes() []int {
	var n []int
	for _, b := range d.batchLog() {
		n = append(n, len(b.uids))
	}
	return n
}

func (d *testDesk) callsFor(uid uint32) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[uid]
}

func (d *testDesk) commitOrder() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.order)
}

// next waits for the next successful delivery.
func (d *testDesk) next(t *testing.T, timeout time.Duration) Delivery {
	t.Helper()
	select {
	case dl := <-d.delivered:
		return dl
	case <-time.After(timeout):
		t.Fatalf("no delivery within %v", timeout)
		return Delivery{}
	}
}

// runFetcher starts f.Run and returns a stop function that cancels it and
// waits for Run to return nil.
func runFetcher(t *testing.T, f *Fetcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
