// Package board serves the managers' SLA board: one read-only page,
// rendered with html/template and inline SVG, no JavaScript, reached only
// through a manager's signed link.
package board

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/desk"
)

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("board").Parse(pageHTML))

// Path is where the board is served.
const Path = "/board"

// ErrNoSecret is what Config.Secret returns for a manager who has no board
// secret yet (no link of theirs was ever made).
var ErrNoSecret = errors.New("no board secret")

// HistoryMaxAge is how long the figures over days (compliance, trend,
// spam and triage counts) are served before they are computed again; the
// open tickets are read at every request.
const HistoryMaxAge = time.Minute

// Config is what a Board needs.
type Config struct {
	// LoadOpen reads the open and pending tickets at now.
	LoadOpen func(ctx context.Context, now time.Time) ([]*helpdesk.Ticket, error)
	// LoadHistory reads what the figures over days are computed from.
	LoadHistory func(ctx context.Context, now time.Time) (*History, error)
	// Secret returns the manager's board secret (ErrNoSecret: none).
	Secret func(ctx context.Context, email string) (string, error)
	// IsManager reports whether an address may see the board now; a
	// manager removed from the configuration loses the board at once.
	IsManager func(email string) bool
	Options   Options
	Now       func() time.Time // nil: time.Now
	Log       *slog.Logger     // nil: slog.Default
}

// Board is the board's HTTP handler. It keeps the figures over days for
// up to HistoryMaxAge: a request that finds them older serves them and
// has them computed again in the background (one computation at a time),
// so that no request waits for 90 days of tickets but the first.
type Board struct {
	c Config

	mu        sync.Mutex
	figs      *figures
	computing bool
	closed    bool
	wg        sync.WaitGroup
}

// New returns the board's handler.
func New(c Config) *Board {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &Board{c: c}
}

// Close waits for a background computation of the figures to end and
// starts no other.
func (b *Board) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}

// figures returns the figures over days: computed now when there are none,
// else the ones kept, with a fresh computation started in the background
// when they are older than HistoryMaxAge.
func (b *Board) figures(ctx context.Context, now time.Time) (*figures, error) {
	b.mu.Lock()
	f := b.figs
	stale := f != nil && (now.Sub(f.At) >= HistoryMaxAge || now.Before(f.At)) && !b.computing && !b.closed
	if stale {
		b.computing = true
		b.wg.Add(1)
	}
	b.mu.Unlock()
	if f == nil {
		f, err := b.compute(ctx, now)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		if b.figs == nil || b.figs.At.Before(f.At) {
			b.figs = f
		}
		b.mu.Unlock()
		return f, nil
	}
	if stale {
		go func() {
			defer b.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			nf, err := b.compute(ctx, now)
			b.mu.Lock()
			defer b.mu.Unlock()
			b.computing = false
			if err != nil {
				b.c.Log.Error("board: computing the figures", "err", err)
				return
			}
			b.figs = nf
		}()
	}
	return f, nil
}

func (b *Board) compute(ctx context.Context, now time.Time) (*figures, error) {
	h, err := b.c.LoadHistory(ctx, now)
	if err != nil {
		return nil, err
	}
	return buildFigures(h, b.c.Options, now), nil
}

// ServeHTTP serves GET /board with a valid link; anything else is refused
// with no data. Every response carries the security headers.
func (b *Board) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	setHeaders(w.Header(), nonce)
	if r.URL.Path != Path {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := b.c.Now()
	email, expiry, err := b.check(r.Context(), r, now)
	if errors.Is(err, errStore) {
		b.c.Log.Error("board: reading the manager's secret", "err", err, "manager", clip(r.URL.Query().Get(paramManager)))
		http.Error(w, "the board could not read the desk; see the daemon's log", http.StatusInternalServerError)
		return
	}
	if err != nil {
		b.c.Log.Warn("board link refused", "reason", err.Error(), "manager", clip(r.URL.Query().Get(paramManager)), "remote", r.RemoteAddr)
		http.Error(w, "Forbidden: this board link is not valid (missing, expired, revoked or mistyped). Ask the operator for a new one: helpdeskd board link EMAIL", http.StatusForbidden)
		return
	}
	open, err := b.c.LoadOpen(r.Context(), now)
	var figs *figures
	if err == nil {
		figs, err = b.figures(r.Context(), now)
	}
	if err != nil {
		b.c.Log.Error("board: reading the desk", "err", err, "manager", email)
		http.Error(w, "the board could not read the desk; see the daemon's log", http.StatusInternalServerError)
		return
	}
	p := buildOpen(open, b.c.Options, now)
	p.figures, p.Nonce, p.Manager = figs, nonce, email
	p.Expires = desk.FormatTime(time.Unix(expiry, 0), time.UTC)
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		b.c.Log.Error("board: rendering", "err", err, "manager", email)
		http.Error(w, "the board could not be rendered; see the daemon's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// check verifies the request's link at now: well formed, not expired, of
// a manager, and MACed under that manager's current secret.
func (b *Board) check(ctx context.Context, r *http.Request, now time.Time) (string, int64, error) {
	if len(r.URL.RawQuery) > 1024 {
		return "", 0, errMalformed
	}
	email, expiry, sig, err := parseLink(r.URL.Query())
	if err != nil {
		return "", 0, err
	}
	if now.Unix() >= expiry {
		return "", 0, errExpired
	}
	if !b.c.IsManager(email) {
		return "", 0, errNotManager
	}
	secret, err := b.c.Secret(ctx, email)
	if errors.Is(err, ErrNoSecret) {
		return "", 0, errNoSecret
	}
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", errStore, err)
	}
	want, _ := hex.DecodeString(sign(secret, email, expiry))
	if !hmac.Equal(sig, want) {
		return "", 0, errForged
	}
	return email, expiry, nil
}

// setHeaders puts the board's security headers on a response: a CSP that
// allows no script, no resource from anywhere, and only the style element
// carrying this response's nonce (inline SVG is markup, not a resource);
// no framing; nothing cached or sent on as a referrer (the link carries
// the token).
func setHeaders(h http.Header, nonce string) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src 'none'; script-src 'none'; "+
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func newNonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("board: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b) // nothing a template escapes, unlike base64's + and /
}

// clip bounds an attacker's string before it reaches the log.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
