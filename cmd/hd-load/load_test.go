package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/helpdeskd/helpdesk/internal/testenv"
	"github.com/helpdeskd/helpdesk/message"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p90 of 1..100", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p50 of four rounds up the rank", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four is the max", ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{"p0 is the min", ms(1, 2, 3, 4), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := percentile(tt.sorted, tt.p), tt.want; got != want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, want)
			}
		})
	}
}

func TestVmHWM(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
	}{
		{"linux status", "Name:\thelpdeskd\nVmPeak:\t 1262144 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n", 51200 << 10},
		{"missing", "Name:\thelpdeskd\nVmRSS:\t   40000 kB\n", 0},
		{"unknown unit", "VmHWM:\t 5 MB\n", 0},
		{"garbage", "VmHWM:\t lots kB\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := vmHWM([]byte(tt.status)), tt.want; got != want {
				t.Errorf("vmHWM = %d, want %d", got, want)
			}
		})
	}
}

func TestMessageID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<a.1@x.example>", "a.1@x.example"},
		{"  <a.1@x.example> <b@y>", "a.1@x.example"},
		{"(comment) <a@b>", "a@b"},
		{"a@b", "a@b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got, want := messageID(tt.in), tt.want; got != want {
			t.Errorf("messageID(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

// TestLoadMail checks that every shape of load mail is what the daemon
// will see: parsed by the daemon's own parser with its Message-ID and
// sender, 5-20 KB, carrying the sequence header and subject token.
func TestLoadMail(t *testing.T) {
	for seq := range 4 {
		r := &record{seq: seq, id: fmt.Sprintf("hd-load.run.%d@load%d.example", seq, seq), customer: fmt.Sprintf("customer%d.run@load%d.example", seq, seq)}
		raw := loadMail(r, "support@example.com", "run")
		t.Run(fmt.Sprint("shape ", seq), func(t *testing.T) {
			if n := len(raw); n < 5<<10 || n > 20<<10 {
				t.Errorf("size %d bytes, want 5-20 KB", n)
			}
			if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("a line ends in a bare LF")
			}
			m, err := message.Parse(raw, message.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.MessageID, r.id; got != want {
				t.Errorf("Message-ID = %q, want %q", got, want)
			}
			if got, want := m.From.Email, r.customer; got != want {
				t.Errorf("From = %q, want %q", got, want)
			}
			if got, want := m.Subject, fmt.Sprintf("(hd-load run-%d)", seq); !strings.HasSuffix(got, want) {
				t.Errorf("Subject = %q, want it to end in %q", got, want)
			}
			if !bytes.Contains(raw, []byte(fmt.Sprintf("\r\nX-HD-Load-Seq: %d\r\n", seq))) {
				t.Error("no X-HD-Load-Seq header")
			}
			if m.AutoReason != "" {
				t.Errorf("looks automatic (%s): the daemon would not ack it", m.AutoReason)
			}
			if len(m.Defects) > 0 {
				t.Errorf("defects: %v", m.Defects)
			}
			if strings.TrimSpace(m.NewText) == "" || len(m.NewText) >= len(m.Text) {
				t.Errorf("new text %d bytes of %d: quoted history not recognised", len(m.NewText), len(m.Text))
			}
			if seq == 2 && (len(m.Attachments) != 1 || m.Attachments[0].Filename != "gateway.log") {
				t.Errorf("attachments = %v, want gateway.log", m.Attachments)
			}
		})
	}
}

// TestPeer sends mail to the capture server with a real SMTP client and
// checks how each is counted.
func TestPeer(t *testing.T) {
	p := newPeer()
	if err := p.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	recs := []*record{
		{seq: 0, id: "m0@load.example", customer: "c0@load.example", start: time.Now()},
		{seq: 1, id: "m1@load.example", customer: "c1@load.example", start: time.Now()},
	}
	p.expect(recs)
	c, err := smtp.Dial(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(to, inReplyTo string) {
		t.Helper()
		msg := "From: support@example.com\r\nTo: " + to + "\r\nSubject: Re: x\r\n"
		if inReplyTo != "" {
			msg += "In-Reply-To: " + inReplyTo + "\r\nReferences: " + inReplyTo + "\r\n"
		}
		msg += "\r\nbody\r\n"
		if err := c.SendMail("support@example.com", []string{to}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send("C0@load.example", "<m0@load.example>")    // the ack of mail 0 (addresses compare case-insensitively)
	send("agent1@example.com", "<m0@load.example>") // a notification about mail 0
	send("c0@load.example", "<m0@load.example>")    // a second ack of mail 0
	send("c1@load.example", "<other@example.com>")  // answers nothing of ours
	send("c1@load.example", "")                     // no In-Reply-To
	ctx := context.Background()
	if err := p.wait(ctx, 1, time.Now().Add(5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(ctx, 2, time.Now().Add(50*time.Millisecond), nil); err == nil {
		t.Fatal("wait for 2 acks returned without error; mail 1 was never acked")
	}
	acked, dup, notes, other := p.counts()
	if acked != 1 || dup != 1 || notes != 1 || other != 2 {
		t.Errorf("acked %d, duplicates %d, notifications %d, other %d; want 1, 1, 1, 2", acked, dup, notes, other)
	}
	if recs[0].ack.IsZero() || !recs[1].ack.IsZero() {
		t.Errorf("ack times %v, %v: want only mail 0's set", recs[0].ack, recs[1].ack)
	}
	var res Result
	res.fill(recs, p)
	if res.Sent != 2 || res.Acked != 1 || res.Lost != 1 || res.Duplicates != 1 {
		t.Errorf("result sent %d acked %d lost %d duplicates %d; want 2, 1, 1, 1", res.Sent, res.Acked, res.Lost, res.Duplicates)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero mails", []string{"-n", "0"}, "-n must be positive"},
		{"negative rate", []string{"-rate", "-1"}, "-rate must not be negative"},
		{"external without smtp", []string{"-imap", "127.0.0.1:1143"}, "-smtp-listen is required"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HD_LOAD_IMAP_PASSWORD", "")
			var out, errw bytes.Buffer
			if got, want := run(context.Background(), tt.args, &out, &errw), 2; got != want {
				t.Errorf("exit status %d, want %d", got, want)
			}
			if !strings.Contains(errw.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", errw.String(), tt.want)
			}
		})
	}
}

// TestRunSelf is the whole tool: in-process servers, the real daemon built
// and run as a child, 40 mails at full speed over two connections, every
// ack matched and every agent notified.
func TestRunSelf(t *testing.T) {
	testenv.Long(t)
	if testing.Short() {
		t.Skip("builds and runs helpdeskd")
	}
	var progress bytes.Buffer
	o := Options{N: 40, Concurrency: 2, Timeout: 60 * time.Second, Self: true, IDLE: true, Agents: 2, SMTPConns: 4,
		IMAPUser: "support@example.com", Folder: "INBOX", To: "support@example.com", Progress: &progress}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if res.Sent != 40 || res.Acked != 40 || res.Lost != 0 || res.Duplicates != 0 || res.AppendErrors != 0 {
		t.Errorf("sent %d acked %d lost %d duplicates %d append errors %d; want 40, 40, 0, 0, 0", res.Sent, res.Acked, res.Lost, res.Duplicates, res.AppendErrors)
	}
	if got, want := res.Notifications, 40*2; got != want {
		t.Errorf("notifications = %d, want %d (one per agent per ticket)", got, want)
	}
	if res.PeakRSS < 1<<20 {
		t.Errorf("daemon peak RSS %d bytes: not read", res.PeakRSS)
	}
	if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("percentiles out of order: p50 %v p90 %v p99 %v max %v", res.P50, res.P90, res.P99, res.Max)
	}
	if res.Throughput <= 0 {
		t.Errorf("throughput %v", res.Throughput)
	}
	var out bytes.Buffer
	res.WriteText(&out)
	for _, want := range []string{"acked          40\n", "lost           0\n", "ack latency    p50 ", "daemon peak RSS "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunExternal drives a daemon the test runs itself, as an operator
// would: the IMAP server and helpdeskd are up before hd-load starts, and
// hd-load only APPENDs and listens where the daemon's [smtp] points.
func TestRunExternal(t *testing.T) {
	testenv.Long(t)
	if testing.Short() {
		t.Skip("builds and runs helpdeskd")
	}
	srv, err := startIMAP("support@example.com", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close() // the daemon only dials it once there is mail to send
	var progress bytes.Buffer
	ctx := context.Background()
	d, err := startDaemon(ctx, Options{IDLE: true, Agents: 1, SMTPConns: 2, Progress: &progress}, srv, smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(Options{Progress: &progress}) })
	o := Options{N: 20, Rate: 200, Concurrency: 1, Timeout: 60 * time.Second, IMAPAddr: srv.addr, IMAPUser: srv.user,
		IMAPPass: srv.pass, Folder: "INBOX", To: "support@example.com", SMTPListen: smtpAddr, Progress: &progress}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if res.Mode != "external" || res.Sent != 20 || res.Acked != 20 || res.Lost != 0 || res.DaemonPID != 0 {
		t.Errorf("mode %s sent %d acked %d lost %d daemon pid %d; want external, 20, 20, 0, 0", res.Mode, res.Sent, res.Acked, res.Lost, res.DaemonPID)
	}
}

// TestIdleAnnouncesEarlierAppend is the case imapidle.Flush is there for:
// a mail APPENDed after the fetcher's last command and before its IDLE
// must be announced as soon as IDLE starts.
func TestIdleAnnouncesEarlierAppend(t *testing.T) {
	srv, err := startIMAP("support@example.com", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.close)
	testenv.CheckIdleAnnounces(t, srv.addr, srv.user, srv.pass, func() {
		target := imapTarget{addr: srv.addr, user: srv.user, pass: srv.pass, folder: "INBOX"}
		r := &record{seq: 0, id: "early@load.example", customer: "c@load.example"}
		if err := appendOne(context.Background(), target, r, "support@example.com", "run"); err != nil {
			t.Fatal(err)
		}
	})
}
