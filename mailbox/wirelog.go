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

// wireLines splits an IMAP stream into its lines, passing over literals
// (RFC 9051 §4.3: "{N}" at the end of a line announces N bytes that are
// data, not lines, such as a mail's body, which may hold anything). It
// keeps the first max bytes of each line, and the end of the line to find
// the announcement; line is called with each line (without CR LF, cut to
// max) and the size of the literal it announces, or -1.
type wireLines struct {
	max  int
	line func(line []byte, literal int64)

	head []byte
	tail []byte // the line's last bytes, where a literal is announced
	skip int64  // bytes of a literal still to pass over
}

// wireLineTail is how much of a line's end wireLines keeps: "{" and the
// 20 digits of the largest literal, "+" and "}".
const wireLineTail = 24

// reWireLiteral is a literal's announcement at the end of a line.
var reWireLiteral = regexp.MustCompile(`\{(\d{1,19})\+?\}$`)

// write takes the stream's next bytes.
func (w *wireLines) write(p []byte) {
	for len(p) > 0 {
		if w.skip > 0 {
			k := min(w.skip, int64(len(p)))
			w.skip -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := w.max - len(w.head); room > 0 {
			w.head = append(w.head, chunk[:min(room, len(chunk))]...)
		}
		w.tail = append(w.tail, chunk[max(0, len(chunk)-wireLineTail):]...)
		if len(w.tail) > wireLineTail {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-wireLineTail:]...)
		}
		if i < 0 {
			return
		}
		p = p[i+1:]
		literal := int64(-1)
		if m := reWireLiteral.FindSubmatch(bytes.TrimRight(w.tail, "\r")); m != nil {
			if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil {
				literal, w.skip = n, n
			}
		}
		w.line(bytes.TrimRight(w.head, "\r"), literal)
		w.head, w.tail = w.head[:0], w.tail[:0]
	}
}

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
	log   *slog.Logger
	mu    sync.Mutex
	lines wireLines
}

const wireLogMaxLine = 300

var (
	reWireAuth = regexp.MustCompile(`(?i)^(\S+ (?:LOGIN|AUTHENTICATE))( .*)$`)
	reWireSASL = regexp.MustCompile(`^[A-Za-z0-9+/=]{8,}$`)
)

// newWireLog returns a wireLog, or nil when log does not write debug lines.
func newWireLog(log *slog.Logger) *wireLog {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return nil
	}
	w := &wireLog{log: log}
	w.lines = wireLines{max: wireLogMaxLine, line: w.emit}
	return w
}

// Write takes bytes of either direction as go-imap tees them.
func (w *wireLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines.write(p)
	return len(p), nil
}

func (w *wireLog) emit(b []byte, literal int64) {
	line := string(b)
	if literal >= 0 {
		line += fmt.Sprintf(" [%d bytes not logged]", literal)
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
