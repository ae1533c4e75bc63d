// Command hd-load measures helpdeskd end to end: it APPENDs N customer
// mails at a given rate to an IMAP mailbox and, as the SMTP server the
// daemon sends through, times each mail from its APPEND to the arrival of
// its acknowledgement. It prints how many mails were sent, acknowledged and
// lost, the ack latency percentiles, the throughput and, when it ran the
// daemon itself, the daemon's peak memory.
//
// By default (-self) everything runs on loopback: an in-memory IMAP server
// with IDLE and an SMTP capture server in this process, and the real
// daemon as a child process (`helpdeskd run`) on a generated configuration
// and a fresh SQLite file. With -imap and -smtp-listen it drives servers
// and a daemon the operator runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `hd-load - load test for helpdeskd: APPEND mails over IMAP, time the acks over SMTP

Usage:
  hd-load [-n 1000] [-rate 20] [-concurrency 4] [-helpdeskd PATH]
      self-contained: in-process IMAP (IDLE) and SMTP servers, the daemon as a child
  hd-load -imap HOST:PORT -imap-user USER -smtp-listen HOST:PORT [-imap-tls] [-to ADDR] ...
      against an IMAP server and a daemon you run; the daemon's [smtp] must point at
      -smtp-listen. The IMAP password is read from $HD_LOAD_IMAP_PASSWORD.

Each mail has a unique Message-ID, an X-HD-Load-Seq header and "(hd-load RUN-SEQ)"
in its subject, and a sender of its own (so no auto-reply rate limit is hit). Its
ack is the mail the daemon sends to that sender with In-Reply-To naming it.
Latency runs from the start of the APPEND to the end of the ack's DATA.

Exit status: 0 when every mail was acknowledged, 1 when some were lost or an
APPEND failed, 2 on bad usage.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the command line, runs the load and prints the report; it
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hd-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	o := Options{}
	fs.IntVar(&o.N, "n", 1000, "number of mails to send")
	fs.Float64Var(&o.Rate, "rate", 20, "mails per second to APPEND; 0 sends as fast as the connections allow")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "IMAP connections APPENDing in parallel")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "how long to wait for the acks after the last APPEND (and for the warm-up ack)")
	fs.BoolVar(&o.Self, "self", true, "run in-process IMAP and SMTP servers and the daemon as a child (off when -imap is given)")
	fs.StringVar(&o.Helpdeskd, "helpdeskd", "", "helpdeskd `binary` for -self; empty: go build it into a temp dir")
	fs.BoolVar(&o.IDLE, "idle", true, "-self: let the daemon use IMAP IDLE (false: poll every second)")
	fs.IntVar(&o.Agents, "agents", 3, "-self: agents in the team notified of each new ticket")
	fs.IntVar(&o.SMTPConns, "smtp-connections", 8, "-self: the daemon's [smtp] connections (its default is 2; a relay on the same machine takes 8 easily)")
	fs.BoolVar(&o.Keep, "keep", false, "-self: keep the temp dir (database, configuration, daemon log)")
	fs.StringVar(&o.IMAPAddr, "imap", "", "IMAP server `host:port` to APPEND to (external mode)")
	fs.StringVar(&o.IMAPUser, "imap-user", "support@example.com", "IMAP user name (external mode)")
	fs.BoolVar(&o.IMAPTLS, "imap-tls", false, "external mode: implicit TLS to the IMAP server")
	fs.StringVar(&o.Folder, "folder", "INBOX", "mailbox to APPEND to")
	fs.StringVar(&o.To, "to", "support@example.com", "support address the mails are sent to")
	fs.StringVar(&o.SMTPListen, "smtp-listen", "", "`host:port` the SMTP capture server listens on (external mode; -self picks a free loopback port)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hd-load: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.IMAPAddr != "" {
		o.Self = false
		o.IMAPPass = os.Getenv("HD_LOAD_IMAP_PASSWORD")
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "hd-load:", err)
		return 2
	}
	o.Progress = stderr
	res, err := Run(ctx, o)
	if res != nil {
		if o.JSON {
			res.WriteJSON(stdout)
		} else {
			res.WriteText(stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "hd-load:", err)
		return 1
	}
	if res.Lost > 0 || res.AppendErrors > 0 {
		return 1
	}
	return 0
}
