package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/digest"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
	"github.com/helpdeskd/helpdesk/templates"
)

// newDigester maps the configuration onto the managers' digest.
func newDigester(cfg *config.Config, st *store.Store, tmpl *templates.Set, now func() time.Time, log *slog.Logger, kick func()) (*digest.Digester, error) {
	g := cfg.Digest
	sched, err := digest.NewSchedule(g.Schedule, g.Hour, g.Minute, g.Weekday, g.Location)
	if err != nil {
		return nil, err
	}
	managers := cfg.Managers()
	c := digest.Config{Schedule: sched, To: cfg.DigestRecipients(), IsManager: func(e string) bool { return managers[strings.ToLower(e)] },
		Desk: cfg.Desk.Name, From: cfg.SMTP.From, Policy: func(name string) *sla.Policy { return cfg.Policies[name] }, Levels: cfg.Levels}
	if cfg.HTTP.Board {
		c.BoardURL = cfg.HTTP.BoardURL
	}
	return digest.New(c, st, tmpl, now, log, kick), nil
}

// cmdDigest previews the managers' digest of the latest period as of now,
// as one reader would get it: the text part, or the HTML part with -html;
// -png writes the chart. It reads the database only: a reader who has no
// board secret yet is shown without a link, and nothing is recorded or
// sent (the daemon sends each period's digest once).
func cmdDigest(ctx context.Context, args []string, now time.Time, stdout, stderr io.Writer) error {
	fs := newFlags("digest", "digest [-config FILE] [-to EMAIL] [-html] [-png FILE]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file`")
	to := fs.String("to", "", "the reader `address` (default: the first recipient)")
	html := fs.Bool("html", false, "print the HTML part instead of the text part")
	png := fs.String("png", "", "write the chart to `file` (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, false, stderr)
	if err != nil {
		return err
	}
	if !cfg.Digest.Enabled {
		fmt.Fprintf(stderr, "note: %s: the digest is off ([digest] enabled, or no manager); this is what it would send\n", *path)
	}
	reader := strings.ToLower(strings.TrimSpace(*to))
	if reader == "" {
		rs := cfg.DigestRecipients()
		if len(rs) == 0 {
			return &exitError{code: 2, err: fmt.Errorf("%s: nobody to send the digest to; name a reader with -to", *path)}
		}
		reader = rs[0]
	}
	tmpl, err := templates.Load(cfg.Desk.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	st, err := openStoreFor(ctx, *path, cfg.Store.Path, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	d, err := newDigester(cfg, st, tmpl, func() time.Time { return now }, nil, nil)
	if err != nil {
		return err
	}
	sched, _ := digest.NewSchedule(cfg.Digest.Schedule, cfg.Digest.Hour, cfg.Digest.Minute, cfg.Digest.Weekday, cfg.Digest.Location)
	p, err := sched.Period(sched.Latest(now))
	if err != nil {
		return err
	}
	f, err := d.Figures(ctx, p, now)
	if err != nil {
		return err
	}
	var earlier []store.Digest
	secret := ""
	err = st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		if earlier, err = tx.DigestThread(p.Thread); err != nil {
			return err
		}
		if cfg.HTTP.Board && cfg.Managers()[reader] {
			if secret, err = tx.BoardSecret(reader); errors.Is(err, store.ErrNotFound) {
				secret, err = "", nil
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	m, err := d.Mail(f, p, earlier, reader, secret, now)
	if err != nil {
		return err
	}
	if *png != "" {
		if f.PNG == nil {
			fmt.Fprintln(stderr, "no chart: no clock was decided in the weeks it covers")
		} else if err := os.WriteFile(*png, f.PNG, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "Subject: %s\nTo: %s\nMessage-ID: <%s>\n\n", m.Subject, reader, m.MessageID)
	if *html {
		_, err = io.WriteString(stdout, m.HTML)
	} else {
		_, err = io.WriteString(stdout, m.Text)
	}
	return err
}
