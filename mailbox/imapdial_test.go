package mailbox

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// wireBuf collects what a server reads and writes.
type wireBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *wireBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *wireBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestIMAP4rev2 checks, on the wire of go-imap's server listing IMAP4rev2,
// that the daemon never sends ENABLE IMAP4rev2 unless imap4rev2 = true,
// never to Microsoft Exchange (known by the capabilities only it lists),
// and that without it the session relies on no capability IMAP4rev2
// implies.
func TestIMAP4rev2(t *testing.T) {
	wireLeakCheck(t)
	for _, tc := range []struct {
		name       string
		extra      imap.Cap
		option     bool
		wantEnable bool
	}{
		{"default", "", false, false},
		{"imap4rev2 = true", "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := &wireBuf{}
			caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
			if tc.extra != "" {
				caps[tc.extra] = struct{}{}
			}
			srv := newIMAPTestServer(t, caps, func(_ *imapTestServer, o *testenv.IMAPOptions) { o.Wire = wire })
			cfg := srv.config("support")
			cfg.IMAP4rev2 = tc.option
			f := NewFetcher(cfg, newTestDesk(), newTestDesk(), nil)
			s, err := f.connect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer s.close(true)
			if err := s.cycle(context.Background(), true); err != nil {
				t.Fatalf("a cycle: %v", err)
			}
			sent := strings.Contains(strings.ToUpper(wire.String()), "ENABLE IMAP4REV2")
			if sent != tc.wantEnable {
				t.Errorf("ENABLE IMAP4rev2 sent = %v, want %v; wire:\n%s", sent, tc.wantEnable, wire)
			}
			if s.rev2 != tc.wantEnable {
				t.Errorf("session rev2 = %v, want %v", s.rev2, tc.wantEnable)
			}
			// What IMAP4rev2 implies is relied on only once it is enabled.
			if _, got := s.caps[imap.CapIMAP4rev2]; got != tc.wantEnable {
				t.Errorf("session capabilities hold IMAP4rev2 = %v, want %v", got, tc.wantEnable)
			}
			err = s.checkFolderName("Éléments envoyés")
			if (err == nil) != tc.wantEnable {
				t.Errorf("non-ASCII folder name: %v (rev2 %v)", err, s.rev2)
			}
		})
	}
}

// TestIsExchange: Microsoft's hosts, or the capabilities only Exchange
// lists after login (go-imap's server lists no capability it does not
// know, so this is not tested on the wire).
func TestIsExchange(t *testing.T) {
	o365 := imap.CapSet{}
	for _, c := range strings.Fields("IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT ENABLE IMAP4rev2 CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+") {
		o365[imap.Cap(c)] = struct{}{}
	}
	dovecot := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapIdle: {}}
	if !isExchange("mail.contoso.com", o365) {
		t.Error("Microsoft 365's capabilities not recognised")
	}
	if !isExchange("outlook.office365.com", dovecot) {
		t.Error("outlook.office365.com not recognised")
	}
	if isExchange("imap.example.com", dovecot) {
		t.Error("a rev2 server taken for Exchange")
	}
}
