package triage

import (
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdesk/internal/ascii"
)

// This file reads facts that phrase lists cannot: numbers.

// partialCount finds a count that says a part of something is affected,
// read as numbers rather than words: "3 of our 40 stores", "2 out of 12",
// "15% of card payments", "~15%". ("1 in 10" is left alone: it
// counts the failures as often as the successes.) A part is less than
// half: "35 of 35", "90%" or "half" is the majority, not a part. It returns the
// quoted words and whether one was found.
func partialCount(d *doc) (string, bool) {
	toks := d.toks
	for i := range toks {
		n, ok := atoi(toks[i].w)
		if !ok {
			continue
		}
		// a percentage: "15%", "15 %", "15 percent" followed by "of", or
		// marked as an estimate ("~15%", "about 15%")
		end := int(toks[i].end)
		pct := end < len(d.src) && d.src[end] == '%' || end+1 < len(d.src) && d.src[end] == ' ' && d.src[end+1] == '%'
		next := i + 1
		if !pct && next < len(toks) && toks[next].clause == toks[i].clause && (toks[next].w == "percent" || toks[next].w == "pct") {
			pct, next = true, next+1
		}
		if pct {
			// half or more is the majority, which the policies treat as
			// all ("preventing majority of customers from purchasing")
			if n <= 0 || n >= 50 {
				continue
			}
			estimate := int(toks[i].start) > 0 && d.src[toks[i].start-1] == '~'
			if i > 0 && toks[i-1].clause == toks[i].clause {
				switch toks[i-1].w {
				case "about", "around", "roughly", "approximately", "approx", "only", "some", "nearly", "almost", "over", "under":
					estimate = true
				}
			}
			if estimate || next < len(toks) && toks[next].w == "of" && toks[next].clause == toks[i].clause {
				return d.quote(i, min(next+1, len(toks))), true
			}
			continue
		}
		// "N of M", "N out of M", "N of our M", "N of the M stores"
		j := i + 1
		if j < len(toks) && toks[j].w == "out" {
			j++
		}
		if j >= len(toks) || toks[j].w != "of" || toks[j].clause != toks[i].clause {
			continue
		}
		j++
		for k := 0; k < 2 && j < len(toks); k++ {
			switch toks[j].w {
			case "our", "the", "my", "their", "your", "all", "about", "around", "roughly", "approximately", "approx", "over", "some":
				j++
			}
		}
		if j >= len(toks) || toks[j].clause != toks[i].clause {
			continue
		}
		m, ok := atoi(toks[j].w)
		if !ok || m <= 1 || n <= 0 || 2*n >= m {
			continue
		}
		// a time or a date ("10 of 12 pages" is a count, "1 of 3" on a
		// numbered step is not worth telling apart here)
		return d.quote(i, j+1), true
	}
	return "", false
}

// atoi reads a plain decimal count of at most six digits.
func atoi(s string) (int, bool) {
	if len(s) == 0 || len(s) > 6 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// noneAfter reports whether a workaround phrase is the label of a form
// line that says there is none: "Workaround: none", "Workaround - n/a",
// "Workaround: no".
func noneAfter(d *doc, h hit) bool {
	rest := d.src[d.toks[h.end-1].end:]
	if len(rest) > 40 {
		rest = rest[:40]
	}
	rest = ascii.Lower(rest)
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	if i >= len(rest) || rest[i] != ':' && rest[i] != '-' {
		return false
	}
	rest = strings.TrimLeft(rest[i+1:], " \t*")
	for _, w := range []string{"none", "no ", "no\n", "no.", "n/a", "nothing", "not ", "nil", "-"} {
		if strings.HasPrefix(rest, w) || rest == strings.TrimSpace(w) {
			return true
		}
	}
	return false
}
