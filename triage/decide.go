package triage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdesk"
)

// decision is the priority the content alone supports, and why.
type decision struct {
	level    helpdesk.Priority
	rank     int    // rank of level; the change category ranks like the last level
	change   bool   // level is the change category
	evidence string // the phrases behind the base level, quoted, for claim reasons
	degraded bool   // the base level rests only on slowness or delay: the service works
	unscoped bool   // the level is critical for a fact no scope lowers (security, data loss, prices, legal)
	raised   bool   // the level is critical because a high failure hits everyone with no workaround
	reasons  []string
}

// evidence is the non-negated hits of one mail sorted by what they say.
type evidence struct {
	byRank       [][]hit
	change       []hit
	wide         []hit
	narrow       []hit
	single       []hit
	workaround   []hit
	noWorkaround []hit
	intermittent []hit
	question     []hit // phrases that say the mail asks something (kept out of byRank)
	degraded     []hit // the built-in slowness phrases, whatever the level lists
}

func (t *Triage) gather(an *analysis) evidence {
	n := len(t.levels.Order)
	ev := evidence{byRank: make([][]hit, n)}
	levelHits := make([]hit, 0, len(an.hits))
	var scopeHits []hit
	for _, h := range an.hits {
		cat := catOf(h.kind)
		if cat == catWorkaround && h.negated {
			ev.noWorkaround = append(ev.noWorkaround, h)
		}
		if h.negated {
			continue
		}
		switch cat {
		case catLevel, catChange:
			levelHits = append(levelHits, h)
		case catWide, catNarrow, catSingle:
			scopeHits = append(scopeHits, h)
		case catWorkaround:
			if noneAfter(&an.d, h) {
				// "Workaround: none" in a labelled form
				ev.noWorkaround = append(ev.noWorkaround, h)
				continue
			}
			ev.workaround = append(ev.workaround, h)
		case catIntermittent:
			ev.intermittent = append(ev.intermittent, h)
		case catDegraded:
			ev.degraded = append(ev.degraded, h)
		}
	}
	// Where phrases of different levels overlap, the longer one is the more
	// specific and wins: "partial outage" is high although "outage" alone
	// is critical. On a tie the more urgent level wins.
	urgency := func(h hit) int {
		if catOf(h.kind) == catChange {
			return n
		}
		return rankOf(h.kind)
	}
	for _, h := range longestFirst(levelHits, urgency) {
		switch {
		case catOf(h.kind) == catChange:
			ev.change = append(ev.change, h)
		case h.pat.question:
			ev.question = append(ev.question, h)
		default:
			ev.byRank[rankOf(h.kind)] = append(ev.byRank[rankOf(h.kind)], h)
		}
	}
	// Scope phrases overlap too: "one of our users" is a single user even
	// though "of our users" alone reads as a part of them.
	for _, h := range longestFirst(scopeHits, func(h hit) int { return catOf(h.kind) }) {
		switch catOf(h.kind) {
		case catWide:
			ev.wide = append(ev.wide, h)
		case catNarrow:
			ev.narrow = append(ev.narrow, h)
		case catSingle:
			ev.single = append(ev.single, h)
		}
	}
	return ev
}

// longestFirst keeps, of overlapping hits, the longest (ties broken by
// the lower order value), and returns the kept hits in text order.
func longestFirst(hits []hit, order func(hit) int) []hit {
	if len(hits) < 2 {
		return hits
	}
	// Sorting the indexes of the hits, stably, orders them as sorting
	// the hits would, without moving them.
	s := make([]int, len(hits))
	for i := range s {
		s[i] = i
	}
	slices.SortStableFunc(s, func(a, b int) int {
		ha, hb := &hits[a], &hits[b]
		if la, lb := ha.end-ha.start, hb.end-hb.start; la != lb {
			return cmp.Compare(lb, la)
		}
		return cmp.Compare(order(*ha), order(*hb))
	})
	kept := s[:0] // s[k] is read before kept can grow to k
	for _, i := range s {
		h := &hits[i]
		overlaps := false
		for _, k := range kept {
			if h.start < hits[k].end && hits[k].start < h.end {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, i)
		}
	}
	slices.SortStableFunc(kept, func(a, b int) int { return cmp.Compare(hits[a].start, hits[b].start) })
	out := make([]hit, len(kept))
	for k, i := range kept {
		out[k] = hits[i]
	}
	return out
}

// decide ranks the content: the most urgent of the two top levels with
// evidence wins; otherwise a change request; otherwise, of the less urgent
// levels, the least urgent with evidence (a typo report also says
// "wrong", and the specific word wins over the generic one). Scope,
// workarounds and intermittency then move the level by one step.
//
// A quoted error message with no rubric phrase around it still reports a
// malfunction, and counts as evidence for the third level.
func (t *Triage) decide(an *analysis, ev *evidence, mailboxDefault helpdesk.Priority, errorText string, pm policyMap) decision {
	n := len(t.levels.Order)
	last := n - 1
	base := -1
	switch {
	case len(ev.byRank[0]) > 0:
		base = 0
	case n > 1 && len(ev.byRank[1]) > 0:
		base = 1
	case len(ev.change) > 0:
		q := quoteHits(&an.d, ev.change, 3)
		return decision{level: t.levels.Change, rank: last, change: true, evidence: q,
			reasons: []string{fmt.Sprintf("%s: %s", t.levels.Change, q)}}
	default:
		for r := last; r >= 2; r-- {
			if len(ev.byRank[r]) > 0 {
				base = r
				break
			}
		}
	}
	level := func(r int) helpdesk.Priority { return t.levels.Order[max(0, min(r, last))] }
	q := ""
	if base < 0 && errorText != "" {
		base = min(2, last)
		q = fmt.Sprintf("error text %q", shorten(errorText, 60))
	}
	if base < 0 && len(ev.question) > 0 {
		// A question or an admin request that reports no malfunction at
		// all: policies put questions and how-tos at their low level
		// (the fourth, or the last of fewer), unless they name them
		// higher.
		r := 3
		if pm.questionRank > 0 {
			r = pm.questionRank
		}
		r = min(r, last)
		q := quoteHits(&an.d, ev.question, 3)
		return decision{level: level(r), rank: r, evidence: q,
			reasons: []string{fmt.Sprintf("%s: a question or request, no failure described (%s)", level(r), q)}}
	}
	if base < 0 {
		if len(ev.intermittent) > 0 && n > 1 {
			q := quoteHits(&an.d, ev.intermittent, 2)
			return decision{level: level(1), rank: min(1, last), evidence: q,
				reasons: []string{fmt.Sprintf("%s: intermittent %s", level(1), q)}}
		}
		def, why := t.def, "default"
		if mailboxDefault != "" {
			if t.levels.Valid(mailboxDefault) {
				def, why = mailboxDefault, "mailbox default"
			} else {
				why = fmt.Sprintf("default (unknown mailbox default %q ignored)", mailboxDefault)
			}
		}
		r, _ := t.levels.Rank(def)
		return decision{level: def, rank: r, change: def == t.levels.Change && def != "",
			reasons: []string{fmt.Sprintf("no rubric phrase matched: %s %s", why, def)}}
	}

	if q == "" {
		q = quoteHits(&an.d, ev.byRank[base], 3)
	}
	first := fmt.Sprintf("%s: %s", level(base), q)
	if base <= 1 && len(ev.wide) > 0 {
		first += " + scope " + quoteHits(&an.d, ev.wide, 1)
	}
	if base == 0 && len(ev.noWorkaround) > 0 {
		h := ev.noWorkaround[0]
		from := h.start
		if h.negated {
			from = min(h.neg, h.start)
		}
		first += fmt.Sprintf(" + %q", an.d.quote(from, h.end))
	}
	dec := decision{evidence: q, reasons: []string{first}}
	if base == 1 {
		// degraded: every phrase behind the second level says slow or
		// late (overlaps a slowness phrase)
		dec.degraded = true
		for _, h := range ev.byRank[1] {
			slow := h.pat.degraded
			for _, d := range ev.degraded {
				slow = slow || h.start < d.end && d.start < h.end
			}
			dec.degraded = dec.degraded && slow
		}
	}
	r := base
	move := func(to int, why string) {
		to = max(0, min(to, last))
		if to == r {
			return
		}
		verb := "lowered"
		if to < r {
			verb = "raised"
		}
		dec.reasons = append(dec.reasons, fmt.Sprintf("%s to %s: %s", verb, level(to), why))
		r = to
	}
	scope := func(hs []hit) string { return "scope " + quoteHits(&an.d, hs, 1) }
	// A count read as numbers ("3 of our 40 stores", "15% of payments")
	// is more precise than the words around it ("every card fails"), so
	// it wins over a wide scope.
	countQuote, counted := partialCount(&an.d)
	// "Everyone else is fine" says the mail is about a part, whatever
	// wide words it also uses.
	contrasted := slices.ContainsFunc(ev.narrow, isContrast) || slices.ContainsFunc(ev.single, isContrast)
	wide := len(ev.wide) > 0 && !counted && !contrasted
	single := !wide && len(ev.single) > 0
	narrow := !wide && !single && (len(ev.narrow) > 0 || counted)
	if counted && len(ev.narrow) == 0 {
		scope = func(hs []hit) string {
			if len(hs) == 0 {
				return fmt.Sprintf("scope a part (%q)", countQuote)
			}
			return "scope " + quoteHits(&an.d, hs, 1)
		}
	}
	switch base {
	case 0:
		unscoped := false
		for _, h := range ev.byRank[0] {
			unscoped = unscoped || h.pat.unscoped
		}
		dec.unscoped = unscoped
		switch {
		case len(ev.intermittent) > 0 && an.sameParagraph(ev.intermittent, ev.byRank[0]):
			move(1, "intermittent "+quoteHits(&an.d, ev.intermittent, 1))
		case single && !unscoped:
			move(1, scope(ev.single))
		case narrow && !unscoped:
			move(1, scope(ev.narrow))
		}
		if len(ev.workaround) > 0 {
			move(r+1, "workaround "+quoteHits(&an.d, ev.workaround, 1))
		}
	case 1:
		switch {
		case wide && pm.wideFailureCritical && !dec.degraded && len(ev.workaround) == 0 && len(ev.intermittent) == 0:
			// A function failing (not slow: failing) for everyone, with
			// no way round it, is what every policy's first level
			// describes: "critically affected ... for a large number of
			// users; no workaround" (ProspectSoft), "complete loss of
			// service and work cannot continue" (Claritum).
			move(0, scope(ev.wide)+", no workaround")
			dec.raised = true
		case single:
			move(2, scope(ev.single))
		case len(ev.workaround) > 0:
			move(2, "workaround "+quoteHits(&an.d, ev.workaround, 1))
		}
	case 2:
		switch {
		case wide && pm.wideRaises:
			move(1, scope(ev.wide))
		case narrow && pm.partRaises:
			move(1, scope(ev.narrow))
		case len(ev.intermittent) > 0:
			move(1, "intermittent "+quoteHits(&an.d, ev.intermittent, 1))
		}
	}
	if pm.lowestRank > 0 && r > pm.lowestRank {
		move(pm.lowestRank, "the policy's lowest level")
	}
	dec.rank, dec.level = r, level(r)
	return dec
}

// quoteHits quotes the source text of up to max distinct hits.
func quoteHits(d *doc, hs []hit, max int) string {
	var out, seen []string
	for _, h := range hs {
		q := d.quote(h.start, h.end)
		k := strings.ToLower(q)
		if q == "" || slices.Contains(seen, k) {
			continue
		}
		seen = append(seen, k)
		out = append(out, strconv.Quote(q)) // as %q writes it
		if len(out) == max {
			break
		}
	}
	return strings.Join(out, ", ")
}

// shorten cuts s to at most n bytes at a word boundary, marking the cut.
func shorten(s string, n int) string {
	s = collapseSpace(s)
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
	}
	return s[:cut] + "\u2026"
}

// isContrast reports whether h says that the others are fine.
func isContrast(h hit) bool { return h.pat != nil && h.pat.contrast && !h.negated }

// sameParagraph reports whether one of the hits a lies in the same
// paragraph (no blank line between them) as one of the hits b, the
// subject counting as part of every paragraph: "sometimes" qualifies the
// failure told beside it, not one told in another paragraph. It reads
// the text once, however many hits a mail has.
func (an *analysis) sameParagraph(a, b []hit) bool {
	d := &an.d
	breaks := blankLines(d.src)
	// paragraph numbers the paragraph holding a hit, -1 for the subject
	paragraph := func(h hit) int {
		off := int(d.toks[h.start].start)
		if off < len(an.subject) {
			return -1
		}
		n, _ := slices.BinarySearch(breaks, off)
		return n
	}
	in := map[int]bool{}
	for _, y := range b {
		p := paragraph(y)
		if p < 0 {
			return len(a) > 0
		}
		in[p] = true
	}
	for _, x := range a {
		if p := paragraph(x); p < 0 && len(b) > 0 || in[p] {
			return true
		}
	}
	return false
}

// blankLines returns, in order, where each blank line of s starts (the
// line break before a line of nothing but spaces).
func blankLines(s string) []int {
	var out []int
	for i := 0; i < len(s); i++ {
		if s[i] != '\n' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r') {
			j++
		}
		if j < len(s) && s[j] == '\n' {
			out = append(out, i)
			i = j - 1
		}
	}
	return out
}
