package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads Go duration syntax extended with days ("7d") and weeks
// ("1w"), in any mix ("1w2d12h"). The result must be positive.
func parseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	rest := in
	for rest != "" {
		// One number and its unit.
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num != "" && unit == "" && total == 0 {
			return 0, fmt.Errorf("duration %q: missing unit (e.g. \"%ss\", \"%sm\" or \"%sd\")", s, num, num, num)
		}
		if num == "" || unit == "" {
			return 0, fmt.Errorf("duration %q: want e.g. \"30s\", \"15m\", \"36h\", \"7d\" or \"1w\"", s)
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: bad number %q", s, num)
			}
			day := 24 * float64(time.Hour)
			if unit == "w" {
				day *= 7
			}
			if f*day > math.MaxInt64/2 {
				return 0, fmt.Errorf("duration %q: too long", s)
			}
			d = time.Duration(f * day)
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, fmt.Errorf("duration %q: want e.g. \"30s\", \"15m\", \"36h\", \"7d\" or \"1w\"", s)
			}
		}
		if total > math.MaxInt64/2 || d > math.MaxInt64/2 {
			return 0, fmt.Errorf("duration %q: too long", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q: must be positive", s)
	}
	return total, nil
}

// Bounds of [smtp] rate and daily_recipients: the outbox keeps the time
// of each mail (rate) and of each sent mail (daily) within the window.
const (
	maxRateCount       = 100000
	maxDailyRecipients = 10000000
)

// rateUnits are the periods "N/unit" may name.
var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour,
}

// parseRate reads a send rate: "N/unit" ("30/m", "2/s", "1000/h"; unit s,
// m, h or d, or a duration: "100/15m"). "" and "0" are no limit.
func parseRate(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	if in == "" || in == "0" {
		return Rate{}, nil
	}
	num, unit, ok := strings.Cut(in, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want mails per period, e.g. \"30/m\", \"2/s\" or \"1000/h\" (0 for no limit)", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > maxRateCount {
		return Rate{}, fmt.Errorf("rate %q: the count must be a whole number from 1 to %d", s, maxRateCount)
	}
	unit = strings.ToLower(strings.TrimSpace(unit))
	per, ok := rateUnits[unit]
	if !ok {
		if per, err = parseDuration(unit); err != nil {
			return Rate{}, fmt.Errorf("rate %q: the period must be s, m, h, d or a duration such as \"15m\"", s)
		}
	}
	if per > 7*24*time.Hour {
		return Rate{}, fmt.Errorf("rate %q: the period must be at most a week", s)
	}
	return Rate{N: n, Per: per}, nil
}

// parseSize reads a byte size: a whole number of bytes, or a number with
// B, KB, MB or GB (also KiB, MiB, GiB). KB is 1024 bytes, as mail servers
// count message size limits.
func parseSize(s string) (int64, error) {
	in := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
	i := 0
	for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
		i++
	}
	num, unit := in[:i], strings.TrimSpace(in[i:])
	mult := map[string]float64{
		"": 1, "B": 1,
		"K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10,
		"M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
		"G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30,
	}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("size %q: want e.g. \"25MB\", \"512KB\" or a number of bytes", s)
	}
	n := f * mult
	if n < 1 || n > 1<<40 {
		return 0, fmt.Errorf("size %q: out of range (1 B to 1024 GB)", s)
	}
	return int64(n), nil
}

// parseFraction reads an escalation point: "75%" or 0.75. It must be above
// zero and at most 10 (1000%).
func parseFraction(s string) (float64, error) {
	in := strings.TrimSpace(s)
	div := 1.0
	if p, ok := strings.CutSuffix(in, "%"); ok {
		in, div = strings.TrimSpace(p), 100
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(in, "_", ""), 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("%q: want a percentage (\"75%%\") or a fraction (0.75)", s)
	}
	f /= div
	if f <= 0 || f > 10 {
		return 0, fmt.Errorf("%q: must be above 0%% and at most 1000%%", s)
	}
	return f, nil
}

// parseBareAddress reads an addr-spec (RFC 5322 §3.4.1) without a display
// name and returns it in lower case.
func parseBareAddress(s string) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("empty address")
	}
	a, err := mail.ParseAddress(in)
	if err != nil || a.Name != "" || strings.ContainsAny(in, "<>") {
		return "", fmt.Errorf("%q is not a mail address (want e.g. \"support@example.com\")", s)
	}
	if _, domain, _ := strings.Cut(a.Address, "@"); !validHostname(domain) {
		return "", fmt.Errorf("%q: bad domain %q", s, domain)
	}
	return strings.ToLower(a.Address), nil
}

// parseNamedAddress reads "Display Name <addr-spec>" (RFC 5322 §3.4); the
// display name is required.
func parseNamedAddress(s string) (name, addr string, err error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return "", "", fmt.Errorf("%q is not a mail address (want e.g. \"Example Support <support@example.com>\")", s)
	}
	if strings.TrimSpace(a.Name) == "" {
		return "", "", fmt.Errorf("%q has no display name (want e.g. \"Example Support <support@example.com>\")", s)
	}
	if _, domain, _ := strings.Cut(a.Address, "@"); !validHostname(domain) {
		return "", "", fmt.Errorf("%q: bad domain %q", s, domain)
	}
	return strings.TrimSpace(a.Name), strings.ToLower(a.Address), nil
}

// validHostname reports whether s is a DNS name of letters, digits, hyphens
// and underscores in dot-separated labels (RFC 1123 §2.1, leniently).
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkHost accepts a host name or an IP address, without a port.
func checkHost(s string) error {
	if s == "" {
		return errors.New("required")
	}
	if net.ParseIP(s) != nil {
		return nil
	}
	if _, port, err := net.SplitHostPort(s); err == nil {
		return fmt.Errorf("%q includes a port; give the port as port = %s", s, port)
	}
	if !validHostname(s) {
		return fmt.Errorf("%q is not a host name or IP address", s)
	}
	return nil
}

// isLoopback reports whether host names this machine: "localhost", 127.x
// or ::1.
func isLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkListen accepts host:port with a numeric port; the host may be empty
// (all interfaces).
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: want host:port, e.g. \"127.0.0.1:8025\"", s)
	}
	if host != "" && checkHost(host) != nil {
		return fmt.Errorf("%q: bad host %q", s, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	return nil
}

// validKeyword reports whether s can be set as an IMAP flag: an atom
// keyword, or one of the harmless system flags (RFC 9051 §2.3.2).
func validKeyword(s string) bool {
	switch strings.ToLower(s) {
	case `\seen`, `\flagged`, `\answered`:
		return true
	}
	if s == "" {
		return false
	}
	for _, c := range s {
		// atom-specials: ( ) { SP CTL % * " \ ]
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`(){%*"\]`, c) {
			return false
		}
	}
	return true
}

// validName reports whether s is usable as a level, team, calendar or
// policy name: printable, no surrounding spaces.
func validName(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// validLevel reports whether s is a usable priority name: lower-case
// letters, digits, '-' and '_', as agents type it in "#priority <level>".
func validLevel(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// maxSecretSize bounds a password file, so that a path like /dev/zero
// cannot exhaust memory.
const maxSecretSize = 64 << 10

// readSecretFile is the default Options.ReadFile.
func readSecretFile(name string) ([]byte, error) {
	// Opening a FIFO would block until someone writes to it.
	if fi, err := os.Stat(name); err != nil {
		return nil, err
	} else if fi.Mode()&os.ModeNamedPipe != 0 {
		return nil, fmt.Errorf("%s: is a named pipe", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxSecretSize)
	}
	return b, nil
}
