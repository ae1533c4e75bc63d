package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
	"github.com/helpdeskd/helpdesk/triage"
)

// loadConfig loads and validates a configuration; with resolve, secrets are
// read too, without they are only checked for form (the commands that only
// read the database).
func loadConfig(path string, resolve bool, stderr io.Writer) (*config.Config, error) {
	return loadConfigWith(path, config.Options{ResolveSecrets: resolve}, stderr)
}

// loadConfigWith loads and validates a configuration with opts, printing
// its warnings to stderr.
func loadConfigWith(path string, opts config.Options, stderr io.Writer) (*config.Config, error) {
	cfg, warnings, err := config.Load(path, opts)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w.String())
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

// checkedConfig loads the configuration and checks everything about it
// that would stop the daemon from starting: the file, its secrets (read),
// where the database goes (writable), the template overrides and the
// triage rules. run and check-config both use it, so that check-config
// (the unit's ExecStartPre=) refuses exactly what run would, in the same
// words. With lint only the file is checked, nothing of this host.
func checkedConfig(path string, lint bool, stderr io.Writer) (*config.Config, error) {
	cfg, err := loadConfigWith(path, config.Options{ResolveSecrets: true, CheckStore: true, Lint: lint}, stderr)
	if err != nil {
		return nil, err
	}
	if !lint || cfg.Desk.TemplatesDir == "" {
		if _, err := templates.Load(cfg.Desk.TemplatesDir); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("%s: templates: %w", path, err)}
		}
	}
	if _, err := triage.New(triageRules(cfg)); err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("%s: %w", path, err)}
	}
	return cfg, nil
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", "check-config -config FILE [-lint]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	lint := fs.Bool("lint", false, "check the file alone, not this host: secrets for form only; password files, templates_dir and the database's directory not looked at (a configuration repository's CI)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("check-config takes no arguments, got %q", fs.Args())}
	}
	cfg, err := checkedConfig(*path, *lint, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d mailboxes, %d agents, %d policies, %d calendars)", *path,
		len(cfg.Mailboxes), len(cfg.Agents), len(cfg.Policies), len(cfg.Calendars))
	if *lint {
		fmt.Fprintln(stdout, "; not checked (-lint): secrets, password files, templates_dir, the database's directory")
	} else {
		fmt.Fprintf(stdout, "; database %s\n", cfg.Store.Path)
	}
	return nil
}

// openStoreFor opens the store named by -db, or by the configuration.
func openStoreFor(ctx context.Context, configPath, dbPath string, stderr io.Writer) (*store.Store, error) {
	if dbPath == "" {
		cfg, err := loadConfig(configPath, false, stderr)
		if err != nil {
			return nil, err
		}
		return openConfiguredStore(ctx, cfg)
	}
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", dbPath, err)
	}
	return store.Open(ctx, dbPath, store.Options{})
}

// openConfiguredStore opens the existing database a loaded configuration
// names.
func openConfiguredStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	dbPath := cfg.Store.Path
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("no database at %s (has the daemon run? under systemd a relative [store] path is in the unit's StateDirectory=, e.g. -db /var/lib/helpdeskd/helpdesk.db): %w", dbPath, err)
	}
	return store.Open(ctx, dbPath, store.Options{RefPrefix: cfg.Store.RefPrefix, RefStart: cfg.Store.RefStart})
}

func cmdTickets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tickets", "tickets [-config FILE | -db FILE] [--json] [--status S[,S]]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	status := fs.String("status", "", "only tickets with these statuses (open,pending,resolved,closed,spam)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStoreFor(ctx, *path, *db, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	return listTickets(ctx, st, stdout, *status, *asJSON)
}

func cmdShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("show", "show REF [-config FILE | -db FILE] [--json] [-full]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names)")
	asJSON := fs.Bool("json", false, "print JSON")
	full := fs.Bool("full", false, "print the whole text of every message (read again from the raw mail), not its first 2,000 characters")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("show needs exactly one ticket reference")}
	}
	st, err := openStoreFor(ctx, *path, *db, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	return showTicket(ctx, st, stdout, pos[0], *asJSON, *full)
}

// cmdAgent runs "agent rotate EMAIL": it replaces the agent's reply-address
// secret, so that every reply address the agent was ever sent proves
// nothing from now on (a leaked address). A running daemon notices at its
// next mail; the agent's next notifications carry new addresses.
func cmdAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent", "agent rotate EMAIL [-config FILE | -db FILE]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	db := fs.String("db", "", "database `file` (instead of the one the configuration names)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "rotate" {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("usage: agent rotate EMAIL")}
	}
	email := strings.ToLower(strings.TrimSpace(pos[1]))
	if *db == "" {
		cfg, err := loadConfig(*path, false, stderr)
		if err != nil {
			return err
		}
		known := false
		for _, a := range cfg.Agents {
			known = known || strings.EqualFold(a.Email, email)
		}
		if !known {
			return &exitError{code: 2, err: fmt.Errorf("%s: no [[agent]] with email %q", *path, email)}
		}
	}
	st, err := openStoreFor(ctx, *path, *db, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.RotateAgentToken(email)
		return err
	}); err != nil {
		return fmt.Errorf("rotate %s: %w", email, err)
	}
	fmt.Fprintf(stdout, "%s: reply-address secret replaced; every earlier reply address of this agent now proves nothing\n", email)
	return nil
}
