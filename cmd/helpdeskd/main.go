// Command helpdeskd is an email-driven helpdesk daemon: it polls support
// mailboxes over IMAP, files each incident mail as a ticket, triages it,
// answers the customer, relays agents' replies and keeps the SLA clocks.
// With no arguments it runs a self-contained demo on loopback.
//
// This file only parses the command line and wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// usage is the top-level help.
const usage = `helpdeskd - an email-driven helpdesk daemon

Usage:
  helpdeskd                                run the self-contained demo (same as "helpdeskd demo")
  helpdeskd demo [-dir DIR] [-speed N]     the demo: embedded IMAP + SMTP servers on loopback
  helpdeskd run -config FILE               run the daemon
  helpdeskd check-config -config FILE [-lint]
                                           check a configuration as run will (secrets, database
                                           directory, templates); -lint: the file alone
  helpdeskd tickets [-config FILE] [--json] [--status S]
  helpdeskd show REF [-config FILE] [--json]
  helpdeskd triage [--json] [-config FILE] FILE.eml|-
  helpdeskd triage report [-config FILE | -db FILE] [--since DATE] [--until DATE] [--json]
  helpdeskd sla [-config FILE] [-db FILE] [--json] [--since DATE] [--until DATE]
  helpdeskd sla due [-config FILE] --policy NAME --priority LEVEL [--plan PLAN] --at TIME [--json]
  helpdeskd agent rotate EMAIL [-config FILE | -db FILE]
  helpdeskd board link EMAIL [-ttl D] [-config FILE]
                                           print a manager's signed link to the SLA board
  helpdeskd board rotate EMAIL [-config FILE]
                                           revoke every board link of a manager
  helpdeskd digest [-config FILE] [-to EMAIL] [-html] [-png FILE]
                                           preview the managers' SLA digest of the latest
                                           period (records and sends nothing)
  helpdeskd oauth login -config FILE (-mailbox NAME | -smtp)
                                           sign a mailbox in (OAuth2 device flow); the
                                           refresh token is kept in the database
  helpdeskd version

Run "helpdeskd COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "helpdeskd:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

// dispatch runs one subcommand.
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cmdDemo(ctx, nil, stdin, stdout, stderr)
	}
	cmd, rest := args[0], args[1:]
	if strings.HasPrefix(cmd, "-") && !isHelpOrVersion(cmd) {
		// "helpdeskd --speed 100": flags without a command are the demo's.
		return cmdDemo(ctx, args, stdin, stdout, stderr)
	}
	switch cmd {
	case "demo":
		return cmdDemo(ctx, rest, stdin, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "tickets":
		return cmdTickets(ctx, rest, stdout, stderr)
	case "show":
		return cmdShow(ctx, rest, stdout, stderr)
	case "triage":
		if len(rest) > 0 && rest[0] == "report" {
			return cmdTriageReport(ctx, rest[1:], stdout, stderr)
		}
		return cmdTriage(rest, stdin, stdout, stderr)
	case "sla":
		return cmdSLA(ctx, rest, stdout, stderr)
	case "agent":
		return cmdAgent(ctx, rest, stdout, stderr)
	case "board":
		return cmdBoard(ctx, rest, time.Now(), stdout, stderr)
	case "digest":
		return cmdDigest(ctx, rest, time.Now(), stdout, stderr)
	case "oauth":
		return cmdOAuth(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "helpdeskd", version())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q", cmd)}
}

func isHelpOrVersion(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "-version", "--version":
		return true
	}
	return false
}

// version reports the module version and VCS revision the binary was built
// from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return strings.TrimSpace(v + " " + info.GoVersion)
}

// newFlags returns a flag set that prints its usage to stderr and reports
// -h/--help as flag.ErrHelp.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: helpdeskd %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("show HD-1 --json" and "show --json HD-1") and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "-" {
			pos = append(pos, args[0])
			args = args[1:]
			continue
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// defaultConfigPath is used when -config is not given: $HELPDESK_CONFIG,
// else helpdesk.toml in the working directory.
func defaultConfigPath() string {
	if p := os.Getenv("HELPDESK_CONFIG"); p != "" {
		return p
	}
	return "helpdesk.toml"
}
