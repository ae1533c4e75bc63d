package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/board"
	"github.com/helpdeskd/helpdesk/config"
	"github.com/helpdeskd/helpdesk/sla"
	"github.com/helpdeskd/helpdesk/store"
)

// Board link lifetimes: the default of `board link`, and the longest it
// accepts (a link is a bearer token; rotation is the way to revoke one).
const (
	defaultLinkTTL = board.DefaultLinkTTL
	maxLinkTTL     = 366 * 24 * time.Hour
)

// newBoard is the board's handler over the store: the snapshot and the
// manager's secret are read at each request, so that a `board rotate` run
// in another process takes effect at the next request.
func newBoard(cfg *config.Config, st *store.Store, now func() time.Time, log *slog.Logger) *board.Board {
	managers := cfg.Managers()
	return board.New(board.Config{
		LoadOpen: func(ctx context.Context, _ time.Time) ([]*helpdesk.Ticket, error) {
			var open []*helpdesk.Ticket
			err := st.View(ctx, func(tx *store.ReadTx) error {
				var err error
				open, err = tx.Tickets(store.TicketFilter{Status: []helpdesk.Status{helpdesk.StatusOpen, helpdesk.StatusPending}})
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("board: open tickets: %w", err)
			}
			return open, nil
		},
		LoadHistory: func(ctx context.Context, at time.Time) (*board.History, error) {
			return boardHistory(ctx, st, cfg.Levels, at)
		},
		Secret:    func(ctx context.Context, email string) (string, error) { return boardSecret(ctx, st, email) },
		IsManager: func(email string) bool { return managers[strings.ToLower(email)] },
		Options:   board.Options{Policy: func(name string) *sla.Policy { return cfg.Policies[name] }, Levels: cfg.Levels},
		Now:       now,
		Log:       log,
	})
}

// boardSecret reads a manager's board secret; board.ErrNoSecret when no
// link was ever made for them.
func boardSecret(ctx context.Context, st *store.Store, email string) (string, error) {
	var sec string
	err := st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		sec, err = tx.BoardSecret(email)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", board.ErrNoSecret
	}
	return sec, err
}

// boardHistory reads what the board's figures over days come from, in one
// read transaction: the clocks of the tickets filed in the longest
// compliance window, and triage's comparison with the agents over the
// triage period (the computation of `helpdeskd triage report`).
func boardHistory(ctx context.Context, st *store.Store, levels helpdesk.Levels, now time.Time) (*board.History, error) {
	s := &board.History{}
	longest := board.Windows[len(board.Windows)-1]
	err := st.View(ctx, func(tx *store.ReadTx) error {
		var err error
		if s.Filed, err = tx.TicketClocks(now.AddDate(0, 0, -longest), now); err != nil {
			return err
		}
		from := now.AddDate(0, 0, -board.TriageDays)
		evs, err := tx.EventsOfKindSince(string(helpdesk.EventPriority), from)
		if err != nil {
			return err
		}
		var period []*helpdesk.Ticket
		for _, t := range s.Filed {
			if !t.CreatedAt.Before(from) {
				period = append(period, t)
			}
		}
		r, err := buildTriageReport(levels, period, func(t *helpdesk.Ticket) ([]helpdesk.Event, error) { return evs[t.ID], nil })
		if err != nil {
			return err
		}
		tc := &board.TriageCounts{Corrected: len(r.Misses)}
		for _, p := range r.Policies {
			tc.Tickets += p.Tickets
			tc.Lower += p.Lower
			tc.Higher += p.Higher
		}
		s.Triage = tc
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	return s, nil
}

// cmdBoard runs "board link EMAIL [-ttl D]" (prints a manager's signed
// link) and "board rotate EMAIL" (replaces the manager's board secret: every
// link made before is refused from the next request on).
func cmdBoard(ctx context.Context, args []string, now time.Time, stdout, stderr io.Writer) error {
	fs := newFlags("board", "board link EMAIL [-ttl D] [-config FILE] | board rotate EMAIL [-config FILE]", stderr)
	path := fs.String("config", defaultConfigPath(), "configuration `file` (its managers, board_url and database)")
	ttl := fs.String("ttl", "30d", "how long the link is valid: `D` days (\"30d\") or a Go duration (\"12h\"), at most 366d")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "link" && pos[0] != "rotate") {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("usage: board link EMAIL [-ttl D] | board rotate EMAIL")}
	}
	email := strings.ToLower(strings.TrimSpace(pos[1]))
	cfg, err := loadConfig(*path, false, stderr)
	if err != nil {
		return err
	}
	if !cfg.Managers()[email] {
		return &exitError{code: 2, err: fmt.Errorf("%s: %q is not a manager (an [[agent]] with manager = true, or an address a policy escalates to)", *path, email)}
	}
	life, err := parseTTL(*ttl)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("-ttl: %w", err)}
	}
	st, err := openStoreFor(ctx, *path, "", stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	var secret string
	err = st.Update(ctx, func(tx *store.Tx) error {
		var err error
		if pos[0] == "rotate" {
			secret, err = tx.RotateBoardSecret(email)
		} else {
			secret, err = tx.BoardSecret(email)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("board %s %s: %w", pos[0], email, err)
	}
	if pos[0] == "rotate" {
		fmt.Fprintf(stdout, "%s: board secret replaced; every earlier board link of this manager is refused from now on\n", email)
		return nil
	}
	if !cfg.HTTP.Board {
		fmt.Fprintf(stderr, "warning: %s: [http] board is off; the link works once it is on\n", *path)
	}
	expiry := now.Add(life).Truncate(time.Second)
	fmt.Fprintln(stdout, board.Link(cfg.HTTP.BoardURL, email, expiry, secret))
	fmt.Fprintf(stderr, "valid until %s for %s; revoke with: helpdeskd board rotate %s\n", expiry.UTC().Format(time.RFC3339), email, email)
	return nil
}

// parseTTL reads a link lifetime: whole days ("30d") or a Go duration
// ("12h"), positive and at most maxLinkTTL.
func parseTTL(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q: want days as \"30d\" or a duration as \"12h\"", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want days as \"30d\" or a duration as \"12h\"", s)
		}
	}
	if d <= 0 || d > maxLinkTTL {
		return 0, fmt.Errorf("%q: want more than 0 and at most 366d", s)
	}
	return d, nil
}
