package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"

	gomaillog "github.com/wneessen/go-mail/log"
)

// wireLog writes an IMAP session's protocol lines to the log at debug
// level, for an operator who needs the protocol steps. It never writes a
// secret or a mail: the arguments of LOGIN and AUTHENTICATE and bare SASL
// responses are replaced by "[redacted]", and a literal (a mail's body, a
// long header) is summed up by its size. Each line is cut to
// wireLogMaxLine bytes.
//
// go-imap tees both directions into it, from its reader and its writer
// goroutines, so it takes a lock; a line written while a read is half
// logged may be split, which a debug log can bear.
type wireLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	line []byte
	skip int // bytes of a literal still to pass unlogged
}

const wireLogMaxLine = 300

var (
	reWireAuth    = regexp.MustCompile(`(?i)^(\S+ (?:LOGIN|AUTHENTICATE))( .*)$`)
	reWireSASL    = regexp.MustCompile(`^[A-Za-z0-9+/=]{8,}$`)
	reWireLiteral = regexp.MustCompile(`\{(\d+)\+?\}$`)
)

// newWireLog returns a wireLog, or nil when log does not write debug lines.
func newWireLog(log *slog.Logger) *wireLog {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	return &wireLog{log: log}
}

// Write takes bytes of either direction as go-imap tees them.
func (w *wireLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if w.skip > 0 {
			k := min(w.skip, len(p))
			w.skip -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(w.line) < wireLogMaxLine {
				w.line = append(w.line, p[:min(len(p), wireLogMaxLine-len(w.line))]...)
			}
			break
		}
		if len(w.line) < wireLogMaxLine {
			w.line = append(w.line, p[:min(i, wireLogMaxLine-len(w.line))]...)
		}
		p = p[i+1:]
		w.emit()
	}
	return n, nil
}

func (w *wireLog) emit() {
	line := string(bytes.TrimRight(w.line, "\r"))
	w.line = w.line[:0]
	if m := reWireLiteral.FindStringSubmatch(line); m != nil {
		if size, err := strconv.Atoi(m[1]); err == nil {
			w.skip = size
			line += " [" + m[1] + " bytes not logged]"
		}
	}
	switch {
	case reWireAuth.MatchString(line):
		line = reWireAuth.ReplaceAllString(line, "$1 [redacted]")
	case reWireSASL.MatchString(line):
		line = "[redacted]"
	}
	w.log.Debug("imap wire", "line", line)
}

// smtpWireLog passes go-mail's protocol log to ours at debug level (go-mail
// redacts the AUTH exchange itself).
type smtpWireLog struct{ log *slog.Logger }

func (w smtpWireLog) line(l gomaillog.Log) string {
	dir := "S:"
	if l.Direction == gomaillog.DirClientToServer {
		dir = "C:"
	}
	line := fmt.Sprintf(l.Format, l.Messages...)
	if len(line) > wireLogMaxLine {
		line = line[:wireLogMaxLine]
	}
	return dir + " " + strings.TrimRight(line, "\r\n")
}

// Debugf implements go-mail's log.Logger.
func (w smtpWireLog) Debugf(l gomaillog.Log) { w.log.Debug("smtp wire", "line", w.line(l)) }

// Infof implements go-mail's log.Logger.
func (w smtpWireLog) Infof(l gomaillog.Log) { w.log.Debug("smtp wire", "line", w.line(l)) }

// Warnf implements go-mail's log.Logger.
func (w smtpWireLog) Warnf(l gomaillog.Log) { w.log.Debug("smtp wire", "line", w.line(l)) }

// Errorf implements go-mail's log.Logger.
func (w smtpWireLog) Errorf(l gomaillog.Log) { w.log.Debug("smtp wire", "line", w.line(l)) }
