package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/ops"
)

// TestSentCopiesDaemon runs the daemon with sent_folder = "Sent" on the
// in-process IMAP server: the acknowledgement the SMTP peer got is in
// Sent, byte for byte, \Seen; the desk files one ticket; /healthz reports
// the copies.
func TestSentCopiesDaemon(t *testing.T) {
	imapSrv := testenv.StartIMAP(t, testenv.IMAPOptions{Folders: []string{"INBOX", "Sent"}})
	peer := testenv.StartSMTP(t)
	cfg := testenv.Config{IMAP: imapSrv.Addr(), SMTP: peer.Addr(), Mailbox: "team = \"first-line\"\nsent_folder = \"Sent\"",
		Agents: testenv.Team, HTTP: "127.0.0.1:0"}.Load(t)
	d := startDaemon(t, cfg, nil)
	if len(d.SentCopiers) != 1 {
		t.Fatalf("%d Sent copiers, want 1", len(d.SentCopiers))
	}

	imapSrv.Deliver(t, "INBOX", customerMail("Dan <dan@retail.example>", "Checkout is down", "dan-1@retail.example", "",
		"Since 09:15 every customer gets Error 500 at checkout."))
	ack := peer.Wait(t, "ack to dan", testenv.To("dan@retail.example"))
	var copies []testenv.FolderMail
	testenv.WaitFor(t, "the ack's copy in Sent", 10*time.Second, func() bool {
		copies = testenv.ReadFolder(t, imapSrv.Addr(), testenv.IMAPUser, testenv.IMAPPassword, "Sent")
		return len(copies) == 1
	})
	if !bytes.Equal(copies[0].Raw, ack.Raw) {
		t.Errorf("Sent copy is not the mail sent:\n--- copy\n%s\n--- sent\n%s", copies[0].Raw, ack.Raw)
	}
	if !copies[0].Seen() {
		t.Errorf("Sent copy flags %v, want \\Seen", copies[0].Flags)
	}
	if n := len(allTickets(t, d)); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}
	resp, err := http.Get("http://" + d.HTTPAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status     string              `json:"status"`
		SentCopies []ops.SentCopyState `json:"sent_copies"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "ok" || len(body.SentCopies) != 1 || body.SentCopies[0].Folder != "Sent" || body.SentCopies[0].Pending != 0 {
		t.Errorf("healthz = %+v", body)
	}
}
