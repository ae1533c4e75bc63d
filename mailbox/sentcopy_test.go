package mailbox

import (
	"bytes"
	"context"
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
	"github.com/helpdeskd/helpdesk/store"
)

// These tests send through the real outbox and SMTP Sender to testenv's
// go-smtp capture, keep the copies in the real store and append them to
// go-imap's in-process server; the outbox and the copier run one round at
// a time on the injected clock.

// copyTest is an outbox whose mail to customers of mailbox "support" is
// copied to the Sent folder of an in-process IMAP server.
type copyTest struct {
	*rcptTest
	imap   *imapTestServer
	copier *SentCopier

	mu      sync.Mutex
	hooked  map[string]int // appended, skipped, failed
	refuseN atomic.Int32   // APPENDs the server refuses with NO before it takes one
}

func newCopyTest(t *testing.T, folder string, caps imap.CapSet, opts ...imapServerOpt) *copyTest {
	t.Helper()
	e := &copyTest{rcptTest: newRcptTest(t, testenv.SMTPOptions{}, nil), hooked: map[string]int{}}
	opts = append([]imapServerOpt{wrapSessions(func(sess imapserver.Session) imapserver.Session {
		return refusingSession{SessionMove: sess.(imapserver.SessionMove), refuse: &e.refuseN}
	})}, opts...)
	e.imap = newIMAPTestServer(t, caps, opts...)
	if err := e.imap.User().Create("Sent", nil); err != nil {
		t.Fatal(err)
	}
	dial := e.o.Dial
	copies := NewSentCopies(e.st, []string{"support"})
	e.o.Dial = func(ctx context.Context) (Sender, error) {
		s, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		return copies.Wrap(s), nil
	}
	cfg := SentCopyConfig{IMAP: e.imap.config("support"), Folder: folder,
		Retry: Backoff{Min: time.Minute, Max: time.Hour}}
	e.copier = NewSentCopier(cfg, e.st, nil)
	e.copier.Now = e.clock.now
	t.Cleanup(func() { e.copier.closeConn(true) })
	e.copier.Hooks = SentCopyHooks{
		Appended: func() { e.hook("appended") },
		Skipped:  func() { e.hook("skipped") },
		Failed:   func(error) { e.hook("failed") },
	}
	return e
}

func (e *copyTest) hook(name string) {
	e.mu.Lock()
	e.hooked[name]++
	e.mu.Unlock()
}

func (e *copyTest) hooks(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hooked[name]
}

// enqueueRelay queues an agent's relay to a customer of ticket (mailbox
// "support"; a new ticket when ticket is 0), in HTML and text with an
// attachment, so that the mail has MIME boundaries; toCustomer false makes
// it mail to staff.
func (e *copyTest) enqueueRelay(id string, toCustomer bool, attachment []byte) int64 {
	e.t.Helper()
	var rowID int64
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		tk := &helpdesk.Ticket{Subject: "Checkout down", Customer: "ann@customer.example", Priority: helpdesk.High, Mailbox: "support"}
		if err := tx.CreateTicket(tk); err != nil {
			return err
		}
		m := helpdesk.OutMail{TicketID: tk.ID, Kind: helpdesk.KindRelay, MessageID: id, ToCustomer: toCustomer,
			From: helpdesk.Address{Name: "Alice at Example Support", Email: "support@example.com"},
			To:   []helpdesk.Address{{Email: "ann@customer.example"}}, Subject: "Re: [HD-1] Checkout down",
			Text: "We restarted the payment service.\n", HTML: "<p>We restarted the payment service.</p>",
			Attachments: []helpdesk.Attachment{{Filename: "log.txt", ContentType: "text/plain", Data: attachment}}}
		if err := tx.Enqueue(&m); err != nil {
			return err
		}
		rowID = m.ID
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rowID
}

// copyRound runs one round of the copier and returns its wait.
func (e *copyTest) copyRound() time.Duration { return e.copier.round(context.Background()) }

// folder returns the bodies and flags of the mails in folder.
func (e *copyTest) folder(folder string) (bodies [][]byte, flags [][]imap.Flag) {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.imap.Addr(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		e.t.Fatal(err)
	}
	defer func() { c.Logout().Wait() }()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		e.t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, b := range bufs {
		bodies = append(bodies, b.BodySection[0].Bytes)
		flags = append(flags, b.Flags)
	}
	return bodies, flags
}

// refusingSession refuses APPENDs with NO while refuse is above zero.
type refusingSession struct {
	imapserver.SessionMove
	refuse *atomic.Int32
}

func (s refusingSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if s.refuse.Add(-1) >= 0 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Temporary storage failure"}
	}
	s.refuse.Store(0)
	return s.SessionMove.Append(mailbox, r, options)
}

// limitSession has an APPENDLIMIT (RFC 7889).
type limitSession struct {
	imapserver.SessionMove
	limit uint32
}

func (s limitSession) AppendLimit() uint32 { return s.limit }

func TestSentCopyExactBytes(t *testing.T) {
	e := newCopyTest(t, "Sent", capsModern)
	relay := e.enqueueRelay("relay-1@support.example.com", true, []byte("line 1\nline 2\n"))
	e.enqueueRelay("staff-1@support.example.com", false, []byte("x"))
	if wait := e.copyRound(); wait != -1 {
		t.Errorf("copier with nothing sent waits %v, want -1 (until kicked)", wait)
	}
	e.round()
	mails := e.srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("smtp got %d mails, want 2", len(mails))
	}
	e.copyRound()
	bodies, flags := e.folder("Sent")
	if len(bodies) != 1 {
		t.Fatalf("Sent holds %d mails, want the relay's copy only (mail to staff is not copied)", len(bodies))
	}
	var sent []byte
	for _, m := range mails {
		if strings.Contains(m.Header.Get("Message-Id"), "relay-1@") {
			sent = m.Raw
		}
	}
	if !bytes.Equal(bodies[0], sent) {
		t.Errorf("Sent copy differs from what the SMTP server got:\n--- copy\n%s\n--- sent\n%s", bodies[0], sent)
	}
	if !bytes.Contains(sent, []byte("multipart/mixed")) {
		t.Errorf("the relay is not multipart; the test proves nothing about boundaries:\n%s", sent)
	}
	if !(testMsg{Flags: flags[0]}).has(imap.FlagSeen) {
		t.Errorf("copy flags = %v, want \\Seen", flags[0])
	}
	if inbox, _ := e.folder("INBOX"); len(inbox) != 0 {
		t.Errorf("INBOX holds %d mails, want none", len(inbox))
	}
	if got := e.hooks("appended"); got != 1 {
		t.Errorf("appended hook ran %d times, want 1", got)
	}
	if _, ok, _ := e.st.NextSentCopy(context.Background(), "support"); ok {
		t.Error("a copy is still due after it was appended")
	}
	_ = relay

	// The next mail's copy goes over the same connection, kept a while.
	conn := e.copier.conn
	if conn == nil {
		t.Fatal("the copier closed its connection at once")
	}
	if wait := e.copier.linger(-1); wait <= 0 || wait > copyLinger {
		t.Errorf("with nothing due the copier wakes in %v, want to close its connection within %v", wait, copyLinger)
	}
	e.enqueueRelay("relay-1b@support.example.com", true, []byte("z"))
	e.round()
	e.copyRound()
	if bodies, _ := e.folder("Sent"); len(bodies) != 2 {
		t.Fatalf("Sent holds %d mails, want 2", len(bodies))
	}
	if e.copier.conn != conn {
		t.Error("the second copy did not reuse the copier's connection")
	}
}

// TestSentCopyRetry: the server refuses a copy, then is unreachable; the
// copy waits with backoff, the copier says what is wrong, and the copy is
// appended once when the server takes it.
func TestSentCopyRetry(t *testing.T) {
	e := newCopyTest(t, "Sent", capsModern)
	e.enqueueRelay("relay-2@support.example.com", true, []byte("x"))
	e.round()
	e.refuseN.Store(1)
	wait := e.copyRound()
	if wait <= 0 || wait > 2*time.Minute {
		t.Errorf("after a refusal the copier waits %v, want the copy's backoff (about a minute)", wait)
	}
	if st := e.copier.State(); !strings.Contains(st.LastError, "Temporary storage failure") {
		t.Errorf("state after a refusal = %+v, want the server's words", st)
	}
	if bodies, _ := e.folder("Sent"); len(bodies) != 0 {
		t.Fatalf("Sent holds %d mails after a refusal", len(bodies))
	}
	// Not due yet: nothing is tried.
	e.copyRound()
	e.imap.Stop()
	e.clock.advance(2 * time.Minute)
	if wait := e.copyRound(); wait <= 0 {
		t.Errorf("with the server down the copier waits %v, want a backoff", wait)
	}
	if st := e.copier.State(); !strings.Contains(st.LastError, "dial") {
		t.Errorf("state with the server down = %+v", st)
	}
	e.imap.Restart(t)
	e.copyRound()
	bodies, flags := e.folder("Sent")
	if len(bodies) != 1 || !(testMsg{Flags: flags[0]}).has(imap.FlagSeen) {
		t.Fatalf("Sent after the server came back: %d mails, flags %v; want 1, \\Seen", len(bodies), flags)
	}
	if st := e.copier.State(); st.LastError != "" {
		t.Errorf("state after recovery = %+v, want no error", st)
	}
	if got := e.hooks("failed"); got != 2 {
		t.Errorf("failed hook ran %d times, want 2 (the refusal, the outage)", got)
	}
}

// TestSentCopyInDoubt: an APPEND whose outcome was never recorded (the
// process died after the server stored the copy) is looked for, and not
// appended a second time; one that the server does not hold is appended.
func TestSentCopyInDoubt(t *testing.T) {
	e := newCopyTest(t, "Sent", capsModern)
	ctx := context.Background()
	e.enqueueRelay("relay-3@support.example.com", true, []byte("x"))
	e.enqueueRelay("relay-4@support.example.com", true, []byte("y"))
	e.round()
	due, err := e.st.DueSentCopies(ctx, "support", e.clock.now(), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due = %v, %v", due, err)
	}
	// relay-3 was appended by the run that died; both were marked.
	if due[0].MessageID != "relay-3@support.example.com" {
		due[0], due[1] = due[1], due[0]
	}
	raw, err := e.st.SentCopyRaw(ctx, due[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	e.imap.Append(t, "Sent", raw, imap.FlagSeen)
	for _, c := range due {
		if err := e.st.MarkSentCopyAppending(ctx, c.ID, e.clock.now()); err != nil {
			t.Fatal(err)
		}
	}
	e.copyRound()
	bodies, _ := e.folder("Sent")
	if len(bodies) != 2 {
		t.Fatalf("Sent holds %d mails, want 2 (one found, one appended)", len(bodies))
	}
	if !bytes.Contains(bodies[1], []byte("relay-4@")) {
		t.Errorf("second mail in Sent is not relay-4:\n%s", bodies[1])
	}
}

func TestSentCopyAppendLimit(t *testing.T) {
	e := newCopyTest(t, "Sent", capsModern, wrapSessions(func(sess imapserver.Session) imapserver.Session {
		return limitSession{SessionMove: sess.(imapserver.SessionMove), limit: 2000}
	}))
	e.enqueueRelay("small@support.example.com", true, []byte("x"))
	e.enqueueRelay("large@support.example.com", true, bytes.Repeat([]byte("0123456789\n"), 400))
	e.round()
	e.copyRound()
	bodies, _ := e.folder("Sent")
	if len(bodies) != 1 || !bytes.Contains(bodies[0], []byte("small@")) {
		t.Fatalf("Sent holds %d mails, want the small one only", len(bodies))
	}
	if e.hooks("skipped") != 1 {
		t.Errorf("skipped hook ran %d times, want 1", e.hooks("skipped"))
	}
	if _, ok, _ := e.st.NextSentCopy(context.Background(), "support"); ok {
		t.Error("the too-large copy is still due; it should be skipped for good")
	}
}

// TestSentCopyRefusesIntakeFolder: a Sent folder that turns out to be the
// folder the desk reads gets no copy. (The \Sent special-use search of
// sent_folder = "auto" is tested against Dovecot, e2e: go-imap's memory
// server keeps no special-use attributes.)
func TestSentCopyRefusesIntakeFolder(t *testing.T) {
	e := newCopyTest(t, "inbox", capsModern)
	e.enqueueRelay("again@support.example.com", true, []byte("x"))
	e.round()
	e.copyRound()
	if st := e.copier.State(); !strings.Contains(st.LastError, "the folder the desk reads") {
		t.Errorf("state = %+v, want a refusal of the intake folder", st)
	}
	if inbox, _ := e.folder("INBOX"); len(inbox) != 0 {
		t.Errorf("INBOX got %d of our copies", len(inbox))
	}
}
