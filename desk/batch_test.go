package desk_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/message"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

// incoming parses raw mails into a batch for the support mailbox, with
// UIDs from first on.
func (td *testDesk) incoming(first uint32, raws ...string) []desk.Incoming {
	td.t.Helper()
	var ins []desk.Incoming
	for i, raw := range raws {
		raw = strings.ReplaceAll(raw, "\n", "\r\n")
		in := desk.Incoming{Mailbox: "support", UIDValidity: 7, UID: first + uint32(i), Raw: []byte(raw)}
		if msg, err := message.Parse([]byte(raw), message.ParseOptions{}); err != nil {
			in.ParseError = err
		} else {
			in.Message = msg
		}
		ins = append(ins, in)
	}
	return ins
}

func (td *testDesk) checkpoint() uint32 {
	td.t.Helper()
	uv, last, err := td.st.Checkpoint(context.Background(), "support")
	if err != nil {
		td.t.Fatal(err)
	}
	if uv != 7 && last != 0 {
		td.t.Fatalf("uidvalidity %d", uv)
	}
	return last
}

// TestIngestBatch: one transaction applies mails that depend on each other
// exactly as one at a time would: a reply threads into the ticket the
// batch opened, a duplicate inside the batch adds nothing, an unreadable
// mail is quarantined, and the checkpoint ends at the last mail.
func TestIngestBatch(t *testing.T) { inOneAndInParts(t, testIngestBatch) }

// inOneAndInParts runs test with the batch in one transaction, then with
// a transaction per mail (a batch committed in parts).
func inOneAndInParts(t *testing.T, test func(t *testing.T)) {
	t.Run("one transaction", test)
	t.Run("a transaction per mail", func(t *testing.T) {
		old := desk.SetMaxTxTime(0)
		t.Cleanup(func() { desk.SetMaxTxTime(old) })
		test(t)
	})
}

func testIngestBatch(t *testing.T) {
	td := newTestDesk(t)
	ins := td.incoming(1,
		customer("b1@x", "Carol <carol@shop.example>", "Store down", outage),
		customer("b2@x", "Dan <dan@other.example>", "Invoice question", "Where is my invoice for October?"),
		customer("b1@x", "Carol <carol@shop.example>", "Store down", outage), // the same mail again
		"From: Carol <carol@shop.example>\nTo: support@example.com\nSubject: Re: Store down\nMessage-ID: <b3@x>\nIn-Reply-To: <b1@x>\nReferences: <b1@x>\n\nIt is back up, thanks.\n",
	)
	ins = append(ins, desk.Incoming{Mailbox: "support", UIDValidity: 7, UID: 5, Raw: []byte("\x00garbage"), ParseError: errors.New("no header")})
	for i := range ins[:2] {
		td.d.Prepare(&ins[i]) // optional: must not change the outcome
	}
	res, errs := td.d.IngestBatch(context.Background(), ins)
	want := []desk.Outcome{desk.Opened, desk.Opened, desk.Duplicate, desk.Joined, desk.Quarantined}
	for i := range ins {
		if res[i].Outcome != want[i] {
			t.Errorf("mail %d: outcome %s, want %s (err %v)", i+1, res[i].Outcome, want[i], errs[i])
		}
		if (i == 4) != errors.Is(errs[i], desk.ErrUnreadable) || (i != 4 && errs[i] != nil) {
			t.Errorf("mail %d: err %v", i+1, errs[i])
		}
	}
	if res[3].Ref != res[0].Ref {
		t.Errorf("reply joined %s, want %s", res[3].Ref, res[0].Ref)
	}
	if got := td.checkpoint(); got != 5 {
		t.Errorf("checkpoint at uid %d, want 5", got)
	}
	if n := len(td.mailsTo("carol@shop.example")); n != 1 {
		t.Errorf("%d mails to carol, want the one ack", n)
	}
	if n := len(td.mailsTo("alice@example.com")); n != 3 {
		t.Errorf("%d notifications to alice, want 3 (two tickets, one reply)", n)
	}
}

// TestIngestBatchTemporaryFailure: a mail the store refuses stops the batch
// there: the mails before it are committed with the checkpoint at the last
// of them, nothing of the failed mail remains, the rest are not attempted,
// and handing in the rest again later works.
func TestIngestBatchTemporaryFailure(t *testing.T) {
	inOneAndInParts(t, testIngestBatchTemporaryFailure)
}

func testIngestBatchTemporaryFailure(t *testing.T) {
	td := newTestDesk(t)
	// A real refusal by SQLite for one mail, as a constraint would give.
	db, err := sql.Open("sqlite", td.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.message_id = 'f2@x'
		BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`); err != nil {
		t.Fatal(err)
	}
	ins := td.incoming(1,
		customer("f1@x", "Carol <carol@shop.example>", "Store down", outage),
		customer("f2@x", "Dan <dan@other.example>", "Invoice", "Where is my invoice?"),
		customer("f3@x", "Eve <eve@third.example>", "Login", "I cannot log in since 9:00."),
	)
	res, errs := td.d.IngestBatch(context.Background(), ins)
	if errs[0] != nil || res[0].Outcome != desk.Opened {
		t.Fatalf("mail 1: %s %v", res[0].Outcome, errs[0])
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "refused for the test") {
		t.Fatalf("mail 2: err %v, want the store's refusal", errs[1])
	}
	if !errors.Is(errs[2], desk.ErrNotAttempted) {
		t.Fatalf("mail 3: err %v, want ErrNotAttempted", errs[2])
	}
	if got := td.checkpoint(); got != 1 {
		t.Fatalf("checkpoint at uid %d, want 1", got)
	}
	if n := len(td.mailsTo("dan@other.example")) + len(td.mailsTo("eve@third.example")); n != 0 {
		t.Fatalf("%d mails enqueued for mails that were not committed", n)
	}
	tickets := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := tickets(); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	res, errs = td.d.IngestBatch(context.Background(), ins[1:])
	for i := range res {
		if errs[i] != nil || res[i].Outcome != desk.Opened {
			t.Fatalf("retry of mail %d: %s %v", i+2, res[i].Outcome, errs[i])
		}
	}
	if n := tickets(); n != 3 {
		t.Fatalf("%d tickets after the retry, want 3", n)
	}
	if got := td.checkpoint(); got != 3 {
		t.Fatalf("checkpoint at uid %d, want 3", got)
	}
}

// TestIngestBatchPanicQuarantines: a mail on which the desk's own code
// panics is quarantined (kept, with the reason) and the batch goes on.
func TestIngestBatchPanicQuarantines(t *testing.T) {
	td := newTestDesk(t, func(c *desk.Config) {
		c.Customer = func(addr string) (string, string) {
			if addr == "dan@other.example" {
				panic("bug met")
			}
			return "", ""
		}
	})
	ins := td.incoming(1,
		customer("p1@x", "Carol <carol@shop.example>", "Store down", outage),
		customer("p2@x", "Dan <dan@other.example>", "Invoice", "Where is my invoice?"),
		customer("p3@x", "Eve <eve@third.example>", "Login", "I cannot log in since 9:00."),
	)
	res, errs := td.d.IngestBatch(context.Background(), ins)
	want := []desk.Outcome{desk.Opened, desk.Quarantined, desk.Opened}
	for i := range ins {
		if res[i].Outcome != want[i] || (i == 1) != errors.Is(errs[i], desk.ErrUnreadable) {
			t.Fatalf("mail %d: %s %v", i+1, res[i].Outcome, errs[i])
		}
	}
	if !strings.Contains(errs[1].Error(), "bug met") {
		t.Fatalf("quarantine reason %v", errs[1])
	}
	if n := len(td.mailsTo("dan@other.example")); n != 0 {
		t.Fatalf("%d mails to the sender of the mail that failed", n)
	}
	if got := td.checkpoint(); got != 3 {
		t.Fatalf("checkpoint at uid %d, want 3", got)
	}
}

// TestNotificationPerAgentWhenTemplateReadsIt: the default notification is
// rendered once for the whole team, but a template that greets its
// recipient gives each agent their own mail.
func TestNotificationPerAgentWhenTemplateReadsIt(t *testing.T) {
	td := newTestDesk(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notify_new.txt"), []byte("Hi {{.Agent.Name}}, reply to {{.ReplyAddress}}\n{{.Text}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "escalation.txt"), []byte("Escalated; reply to {{.ReplyAddress}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	td.cfg.Policies["office"].EscalateTo = []string{"managers", "coo@example.com"}
	tmpl, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tri, err := triage.New(triage.Rules{Levels: td.cfg.Levels})
	if err != nil {
		t.Fatal(err)
	}
	if td.d, err = desk.New(td.cfg, desk.Options{Store: td.st, Triage: tri, Templates: tmpl, Now: func() time.Time { return td.now }}); err != nil {
		t.Fatal(err)
	}
	ref := td.mail("support", customer("g1@x", "Carol <carol@shop.example>", "Store down", outage)).Ref
	for _, agent := range []string{"alice@example.com", "maria@example.com"} {
		ms := td.mailsTo(agent)
		if len(ms) != 1 {
			t.Fatalf("%d notifications to %s", len(ms), agent)
		}
		addr := td.agentAddress(agent, ref)
		name := map[string]string{"alice@example.com": "Alice", "maria@example.com": "Maria"}[agent]
		if !strings.Contains(ms[0].Text, "Hi "+name+", reply to "+addr) {
			t.Errorf("notification to %s reads %q", agent, ms[0].Text)
		}
	}
	// An escalation to several people that names the reply address is
	// rendered for each: the manager's names her own, the COO's the
	// ticket's.
	td.mail("support", agentMail("e1@example.com", td.agentAddress("alice@example.com", ref), "#escalate losing orders"))
	tk, _ := td.ticket(ref)
	want := map[string]string{"maria@example.com": td.agentAddress("maria@example.com", ref),
		"coo@example.com": "support+" + ref + "." + tk.Token + "@example.com"}
	for to, addr := range want {
		var found bool
		for _, m := range td.mailsTo(to) {
			if strings.HasPrefix(m.Text, "Escalated") {
				found = true
				if !strings.Contains(m.Text, "reply to "+addr) {
					t.Errorf("escalation to %s reads %q, want its reply address %s", to, m.Text, addr)
				}
			}
		}
		if !found {
			t.Errorf("no escalation mail to %s", to)
		}
	}
}

// TestCheckTicketsPage: the SLA loop's page of due tickets is checked in
// one transaction, and a ticket that fails leaves the others checked.
func TestCheckTicketsPage(t *testing.T) {
	td := newTestDesk(t)
	var ids []int64
	for i, from := range []string{"Carol <carol@shop.example>", "Dan <dan@other.example>"} {
		ref := td.mail("support", customer(fmt.Sprintf("s%d@x", i), from, "Store down", outage)).Ref
		tk, _ := td.ticket(ref)
		ids = append(ids, tk.ID)
	}
	page := []int64{ids[0], 999999, ids[1]} // a ticket that does not exist
	errs := td.d.CheckTickets(context.Background(), page, td.now.Add(26*time.Hour))
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrNotFound) {
		t.Fatalf("errors %v, want only the missing ticket's", errs)
	}
	for _, id := range ids {
		var evs []helpdesk.Event
		if err := td.st.View(context.Background(), func(tx *store.ReadTx) error {
			var err error
			evs, err = tx.Events(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if events(evs, "breach") == 0 {
			t.Errorf("ticket %d: no breach recorded by the page's check", id)
		}
	}
}
