package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/board"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/demo"
	"github.com/helpdeskd/helpdesk/desk"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
)

// demoOptions are the demo's flags.
type demoOptions struct {
	dir      string  // where the SQLite file lives; "" = a temporary directory removed on exit
	speed    float64 // the desk clock runs this many times faster than real time
	seed     bool    // send the seed incidents at start
	imapPort int     // 0: ephemeral
	smtpPort int
	http     string // /healthz and /metrics; "" = off
	board    string // the managers' board; "" = off
	start    string // "" (business hours), "now" or an RFC 3339 time
	verbose  bool   // daemon logs at info level instead of warn
	// realNow is the real clock the desk clock runs from (nil: time.Now)
	// and seedEvery the real time between two seed mails (0: a second);
	// tests set a clock they move by hand and a shorter pause.
	realNow   func() time.Time
	seedEvery time.Duration
}

// outageMailbox is the mailbox of the demo's outage: its policy calendar
// decides when the demo clock starts.
const outageMailbox = "prospectsoft"

// demoNeed is the business time the demo wants ahead of it without a
// break: the outage's 2-business-hour response target, its breach and a
// margin.
const demoNeed = 3 * time.Hour

func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [-dir DIR] [-speed N] [-seed=false] [-imap-port P] [-smtp-port P] [-http ADDR] [-board ADDR] [-start TIME] [-v]", stderr)
	var o demoOptions
	fs.StringVar(&o.dir, "dir", "", "keep the SQLite database in `DIR` (default: a temporary directory removed on exit)")
	fs.Float64Var(&o.speed, "speed", 1, "run the desk clock `N` times faster than real time (SLA warnings and escalations in minutes)")
	fs.BoolVar(&o.seed, "seed", true, "mail the five seed incidents at start")
	fs.IntVar(&o.imapPort, "imap-port", 0, "IMAP `port` on 127.0.0.1 (default: any free port)")
	fs.IntVar(&o.smtpPort, "smtp-port", 0, "SMTP `port` on 127.0.0.1 (default: any free port)")
	fs.StringVar(&o.http, "http", "127.0.0.1:0", "`address` of /healthz and /metrics; empty for none")
	fs.StringVar(&o.board, "board", "127.0.0.1:0", "`address` of the managers' SLA board (the banner prints a manager's link); empty for none")
	fs.StringVar(&o.start, "start", "", "desk clock start: `TIME` (RFC 3339), \"now\", or empty for now when within ProspectSoft's UK business hours, else the next business morning")
	fs.BoolVar(&o.verbose, "v", false, "log the daemon's info messages to stderr (default: warnings only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))}
	}
	if o.speed < 1 {
		return &exitError{code: 2, err: fmt.Errorf("-speed %v: must be at least 1", o.speed)}
	}
	a, err := startDemo(ctx, o, stdout, stderr)
	if err != nil {
		return err
	}
	return a.run(ctx, stdin)
}

// demoApp is the running demo: the embedded servers, the daemon (Main) on
// config.example.toml rewritten for them, the clock and the event printer.
type demoApp struct {
	opts    demoOptions
	cfg     *config.Config
	clock   *demo.Clock
	shifted bool // the clock does not start at the real time
	out     *demo.Printer
	servers *demo.Servers
	main    *Main
	dir     string
	tempDir bool
	// boardLink is boardFor's link to the board, valid for a day of real
	// time ("" when the board is off).
	boardLink, boardFor string
}

// demoBoardLink makes the board link of the configuration's first manager,
// valid for a day of real time (the board checks it on the desk's clock).
func (a *demoApp) demoBoardLink(ctx context.Context) (link, email string, err error) {
	for _, ag := range a.cfg.Agents {
		if ag.Manager {
			email = ag.Email
			break
		}
	}
	if email == "" {
		return "", "", nil
	}
	var secret string
	err = a.main.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		secret, err = tx.BoardSecret(email)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("demo: board link: %w", err)
	}
	life := time.Duration(float64(24*time.Hour) * a.opts.speed)
	return board.Link("http://"+a.main.BoardAddr+board.Path, email, a.clock.Now().Add(life), secret), email, nil
}

// startDemo starts the servers and opens the daemon; run runs them. On
// error everything started is stopped again.
func startDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) (*demoApp, error) {
	a := &demoApp{opts: o, dir: o.dir}
	started := false
	defer func() {
		if !started {
			a.close()
		}
	}()
	var err error
	if a.dir == "" {
		if a.dir, err = os.MkdirTemp("", "helpdeskd-demo-"); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		a.tempDir = true
	} else if err = os.MkdirAll(a.dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if a.cfg, err = demo.Config(a.dir); err != nil {
		return nil, err
	}
	a.cfg.HTTP.Listen = o.http
	if o.board != "" {
		a.cfg.HTTP.Board, a.cfg.HTTP.BoardListen = true, o.board
	}

	cal := a.calendar()
	start := time.Now()
	switch o.start {
	case "":
		start, a.shifted = demo.StartTime(cal, start, demoNeed)
	case "now":
	default:
		t, perr := time.Parse(time.RFC3339, o.start)
		if perr != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("-start: %w", perr)}
		}
		start, a.shifted = t, true
	}
	a.clock = demo.NewClock(start, o.speed, o.realNow)

	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	a.out = demo.NewPrinter(stdout, cal.Location(), a.clock.Now, a.ticket)
	a.servers, err = demo.Start(demo.Options{
		IMAPAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(o.imapPort)),
		SMTPAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(o.smtpPort)),
		Boxes:     demo.Boxes(a.cfg),
		Now:       a.clock.Now,
		Log:       log,
		Delivered: a.out.Delivered,
		Captured:  a.out.Captured,
	})
	if err != nil {
		return nil, err
	}
	if err = demo.UseServers(a.cfg, a.servers); err != nil {
		return nil, err
	}
	a.main = &Main{Config: a.cfg, Log: log, Now: a.clock.Now,
		Hooks: desk.Hooks{Event: a.out.Event, Enqueued: a.out.Enqueued}}
	if err = a.main.Open(ctx); err != nil {
		return nil, err
	}
	// The embedded IMAP server keeps its mail in memory and numbers it from
	// UID 1 under the same UIDVALIDITY on every run, so checkpoints left in
	// a kept database would skip the new mail: start them afresh.
	err = a.main.Store.Update(ctx, func(tx *store.Tx) error {
		for _, mb := range a.cfg.Mailboxes {
			if err := tx.SetCheckpoint(mb.Name, 0, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: reset checkpoints: %w", err)
	}
	if a.main.BoardAddr != "" {
		if a.boardLink, a.boardFor, err = a.demoBoardLink(ctx); err != nil {
			return nil, err
		}
	}
	started = true
	return a, nil
}

// calendar is the calendar of the outage's policy, whose business hours the
// demo clock starts in.
func (a *demoApp) calendar() *sla.Calendar {
	mb, _ := a.cfg.Mailbox(outageMailbox)
	return a.cfg.PolicyFor(mb, "").Calendar
}

// ticket looks a ticket up for the printer.
func (a *demoApp) ticket(ref string) (*helpdesk.Ticket, error) {
	var t *helpdesk.Ticket
	err := a.main.Store.View(context.Background(), func(tx *store.ReadTx) error {
		var err error
		t, err = tx.TicketByRef(ref)
		return err
	})
	return t, err
}

// run runs the daemon, mails the seeds and reads commands from stdin until
// ctx is done, "quit" is typed or the daemon fails; then it stops
// everything, removes a temporary directory and returns.
func (a *demoApp) run(ctx context.Context, stdin io.Reader) error {
	defer a.close()
	a.banner()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- a.main.Run(runCtx) }()

	var wg sync.WaitGroup
	if a.opts.seed {
		wg.Go(func() { a.seed(runCtx) })
	}
	lines := make(chan string)
	done := make(chan struct{})
	defer close(done)
	if stdin != nil {
		// The reader may stay blocked on a terminal after the demo ends;
		// it touches nothing but the channel, and the process exits.
		go readLines(stdin, lines, done)
	}

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-runErr:
			runErr = nil
			break loop
		case line, ok := <-lines:
			if !ok {
				lines = nil
				a.out.Printf("(input closed; the demo keeps running, Ctrl-C stops it)")
				continue
			}
			if a.command(runCtx, line) {
				break loop
			}
		}
	}
	a.out.Printf("stopping")
	stop()
	wg.Wait()
	if runErr != nil {
		err = <-runErr
	}
	return err
}

// close stops the servers, closes the database and removes a temporary
// directory, in that order.
func (a *demoApp) close() error {
	var errs []error
	if a.servers != nil {
		errs = append(errs, a.servers.Close())
		a.servers = nil
	}
	if a.main != nil {
		errs = append(errs, a.main.Close())
		a.main = nil
	}
	if a.tempDir {
		errs = append(errs, os.RemoveAll(a.dir))
		a.tempDir = false
	}
	return errors.Join(errs...)
}

func readLines(r io.Reader, lines chan<- string, done <-chan struct{}) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case lines <- sc.Text():
		case <-done:
			return
		}
	}
}

// banner prints where everything is and how to write to the desk.
func (a *demoApp) banner() {
	smtpAddr := a.servers.SMTPAddr()
	first := a.cfg.Mailboxes[0].Address
	a.out.Block(func(w io.Writer) {
		fmt.Fprintf(w, "helpdeskd demo: config.example.toml's five support policies, on embedded servers (loopback only)\n\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  IMAP\t%s\tgo-imap/v2 in memory; user = a support address below, password %q\n", a.servers.IMAPAddr(), demo.Password)
		fmt.Fprintf(tw, "  SMTP\t%s\tgo-smtp, no TLS, no login needed; mail to a support address (or address+anything)\n", smtpAddr)
		fmt.Fprintf(tw, "  \t\tgoes into that mailbox over IMAP; every other mail is captured and shown here\n")
		if a.main.HTTPAddr != "" {
			fmt.Fprintf(tw, "  HTTP\thttp://%s/healthz\tand /metrics\n", a.main.HTTPAddr)
		}
		if a.boardLink != "" {
			fmt.Fprintf(tw, "  Board\t%s\tthe managers' SLA board, %s's link (open it in a browser)\n", a.boardLink, a.boardFor)
		}
		keep := "kept"
		if a.tempDir {
			keep = "temporary, removed on exit (-dir DIR keeps it)"
		}
		fmt.Fprintf(tw, "  SQLite\t%s\t%s\n", a.cfg.Store.Path, keep)
		fmt.Fprintf(tw, "  Clock\t%s\t%s\n", a.clock.Now().In(a.calendar().Location()).Format("Mon 2 Jan 2006 15:04 MST"), a.clockNote())
		tw.Flush()

		fmt.Fprintf(w, "\n  Support mailboxes (address, policy, team):\n")
		for _, mb := range a.cfg.Mailboxes {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", strings.Join(mb.Addresses(), ", "), mb.Policy, mb.Team)
		}
		tw.Flush()
		fmt.Fprintf(w, "  Agents (team):\n")
		for _, ag := range a.cfg.Agents {
			role := ""
			if ag.Manager {
				role = ", manager"
			}
			fmt.Fprintf(tw, "    %s\t%s%s\n", ag.Email, ag.Team, role)
		}
		tw.Flush()

		fmt.Fprintf(w, "\n  Send a mail, e.g. with swaks:\n")
		fmt.Fprintf(w, "    swaks --server %s --from you@example.com --to %s \\\n", smtpAddr, first)
		fmt.Fprintf(w, "      --header 'Subject: Cannot log in' --body 'Since 9:10 nobody in our team can log in: \"Error 500\".'\n")
		fmt.Fprintf(w, "  or with curl, nothing to install:\n")
		fmt.Fprintf(w, "    printf 'From: you@example.com\\r\\nTo: %s\\r\\nSubject: Cannot log in\\r\\n\\r\\nSince 9:10 nobody can log in.\\r\\n' > mail.eml\n", first)
		fmt.Fprintf(w, "    curl -s smtp://%s --mail-from you@example.com --mail-rcpt %s -T mail.eml\n", smtpAddr, first)
		fmt.Fprintf(w, "\n  Commands: tickets | show REF | reply REF TEXT | customer REF TEXT | help | quit   (Ctrl-C stops)\n\n")
	})
}

func (a *demoApp) clockNote() string {
	var b strings.Builder
	if a.clock.Speed() == 1 {
		b.WriteString("real speed (-speed 100 makes an escalation happen within minutes)")
	} else {
		fmt.Fprintf(&b, "x%g: one real second is %s of desk time", a.clock.Speed(), time.Duration(a.clock.Speed()*float64(time.Second)))
	}
	if a.shifted {
		if a.opts.start != "" {
			b.WriteString("; started at -start")
		} else {
			b.WriteString("; moved to the next UK business morning, since ProspectSoft's business hours (the outage's calendar) are closed or close soon")
		}
	}
	return b.String()
}

// seed mails the seed incidents through the demo's own SMTP port, a second
// apart, unless the database already has tickets (a kept -dir).
func (a *demoApp) seed(ctx context.Context) {
	var existing []*helpdesk.Ticket
	if err := a.main.Store.View(ctx, func(tx *store.ReadTx) error {
		var err error
		existing, err = tx.Tickets(store.TicketFilter{Limit: 1})
		return err
	}); err != nil {
		a.out.Printf("seed: %v", err)
		return
	}
	if len(existing) > 0 {
		a.out.Printf("the database already has tickets: not seeding again")
		return
	}
	seeds := demo.Seeds()
	a.out.Printf("seeding %d incidents drawn from the policies, one a second", len(seeds))
	every := a.opts.seedEvery
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for i, s := range seeds {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		o, err := s.Build(a.cfg, a.clock.Now())
		if err == nil {
			a.out.Printf("seed %d/%d: %s", i+1, len(seeds), s.Name)
			err = demo.Send(ctx, a.servers.SMTPAddr(), o)
		}
		if err != nil {
			if ctx.Err() == nil {
				a.out.Printf("seed %d: %v", i+1, err)
			}
			return
		}
	}
}

const demoHelp = `Commands:
  tickets               list the tickets
  show REF              one ticket: fields, messages, events
  reply REF TEXT        the first agent notified of REF replies to the notification
                        (to the per-agent reply address), e.g.
                          reply HD-1000 #priority high | We are on it.
                        " | " starts a new line; #status, #priority, #assign, #note,
                        #escalate on the first lines are commands
  customer REF TEXT     the customer replies to the acknowledgement of REF, e.g.
                          customer HD-1003 Start time: 9:10 | Error: "Report failed (code 17)"
  help                  this text
  quit                  stop the demo (Ctrl-C too)`

// command runs one typed line and reports whether the demo should stop.
func (a *demoApp) command(ctx context.Context, line string) (quit bool) {
	word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(word) {
	case "":
	case "quit", "exit":
		return true
	case "help", "?":
		a.out.Block(func(w io.Writer) { fmt.Fprintln(w, demoHelp) })
	case "tickets":
		a.out.Block(func(w io.Writer) {
			if err := listTickets(ctx, a.main.Store, w, "", false); err != nil {
				fmt.Fprintln(w, "tickets:", err)
			}
		})
	case "show":
		if rest == "" {
			a.out.Printf("usage: show REF")
			break
		}
		a.out.Block(func(w io.Writer) {
			if err := showTicket(ctx, a.main.Store, w, strings.ToUpper(rest), false, false); err != nil {
				fmt.Fprintln(w, "show:", err)
			}
		})
	case "reply", "customer":
		ref, text, _ := strings.Cut(rest, " ")
		text = strings.TrimSpace(text)
		if ref == "" || text == "" {
			a.out.Printf("usage: %s REF TEXT", word)
			break
		}
		if err := a.reply(ctx, strings.ToLower(word) == "reply", strings.ToUpper(ref), text); err != nil {
			a.out.Printf("%s: %v", word, err)
		}
	default:
		a.out.Printf("unknown command %q; type help", word)
	}
	return false
}

// reply answers, through the demo's SMTP port, the captured mail of ticket
// ref that an agent (agent true: the first notification to an agent) or
// the customer (the latest mail to the customer) received.
func (a *demoApp) reply(ctx context.Context, agent bool, ref, text string) error {
	var customer string
	if !agent {
		t, err := a.ticket(ref)
		if err != nil {
			return fmt.Errorf("ticket %s: %w", ref, err)
		}
		customer = t.Customer
	}
	tag := "+" + strings.ToLower(ref) + "."
	var found *demo.Mail
	for _, m := range a.servers.Captured() {
		if len(m.To) == 0 || !strings.Contains(strings.ToLower(m.Header.Get("Reply-To")), tag) {
			continue
		}
		if agent {
			if _, ok := a.cfg.Agent(m.To[0]); ok {
				found = &m
				break
			}
		} else if slices.Contains(m.To, customer) {
			found = &m // keep the latest
		}
	}
	if found == nil {
		who := "the customer " + customer
		if agent {
			who = "an agent"
		}
		return fmt.Errorf("no mail of %s to %s with a reply address has left yet", ref, who)
	}
	o, err := demo.Reply(*found, strings.ReplaceAll(text, " | ", "\n"), a.clock.Now())
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := demo.Send(sctx, a.servers.SMTPAddr(), o); err != nil {
		return err
	}
	a.out.Printf("%s replies to %s as %s", o.From, ref, strings.Join(o.To, ", "))
	return nil
}
