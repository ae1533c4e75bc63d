//go:build linux

package e2e

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// The SMTP peer the daemon sends through is testenv's SMTP capture
// (testenv.StartSMTP): it records every mail, and can go down and come
// back on the same port.

// onceEach checks the peer's mails to customers: every customer in want got
// exactly one distinct mail (by Message-ID) whose subject carries their
// subject, and no Message-ID arrived twice unless tolerated says so. It
// returns the number of tolerated repeats.
func onceEach(t testing.TB, mails []testenv.Mail, want map[string]string, tolerated func(first testenv.Mail) bool) (repeats int) {
	t.Helper()
	byID := map[string][]testenv.Mail{}
	perCustomer := map[string]map[string]bool{}
	for _, m := range mails {
		id := m.MessageID()
		if id == "" {
			t.Errorf("mail to %v %q has no Message-ID", m.To, m.Header.Get("Subject"))
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
		t.Errorf("Message-ID <%s> arrived %d times at the peer (to %v, %q)", id, len(ms), ms[0].To, ms[0].Header.Get("Subject"))
	}
	for cust, subj := range want {
		ids := perCustomer[cust]
		if len(ids) != 1 {
			t.Errorf("%s got %d distinct mails, want exactly 1 acknowledgement", cust, len(ids))
			continue
		}
		for id := range ids {
			if got := byID[id][0].Header.Get("Subject"); !strings.Contains(got, subj) {
				t.Errorf("%s's acknowledgement has subject %q, want it to contain %q", cust, got, subj)
			}
		}
	}
	return repeats
}
