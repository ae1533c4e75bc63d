// Package triage ranks an incoming support mail by impact and extracts the
// incident facts an agent needs (start time, error text, steps to
// reproduce, impact, affected service). It is pure: no I/O and no clock,
// only the mail's text and Date; every decision comes with reasons an agent
// can read.
package triage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/olebedev/when"
	"github.com/olebedev/when/rules"
	"github.com/olebedev/when/rules/common"
	"github.com/olebedev/when/rules/en"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/internal/ascii"
	"github.com/helpdeskd/helpdesk/message"
)

// Rules is everything about triage an operator can configure. A zero or
// empty field means the built-in default, so Rules{} is the default rubric.
// Phrases are written in a small pattern language over lower-case words:
// "checkout is down", "crash*" (a prefix), "site * down" (up to four words
// in between), "(site|web shop|store)" (alternatives), "(the|our)?"
// (optional). Contractions are expanded before matching, so write
// "cannot" and "is not" rather than "can't" and "isn't".
type Rules struct {
	Levels  helpdesk.Levels                // order most urgent first + change category
	Default helpdesk.Priority              // when nothing matches (default "medium")
	Phrases map[helpdesk.Priority][]string // per level phrase lists (replace the defaults of that level when set)

	WideScope   []string // everyone or most are affected ("all users", "nobody can")
	NarrowScope []string // a part of the users is affected ("some users", "a few customers")
	Workaround  []string // the customer can carry on another way
	Negation    []string // words that cancel a phrase that follows shortly ("not", "no", "if")

	SingleScope  []string // one user, team or machine is affected ("only me", "one of our users")
	Intermittent []string // the failure comes and goes or is over ("sometimes", "back up now")
	Unscoped     []string // phrases, from any level's list, whose level scope does not lower ("data loss")
	Services     []string // names of product parts, to find the affected service in free text

	// NoModel ranks with the rubric alone, without the learned model
	// (model.go). The model is used only with the default levels.
	NoModel bool
}

// DefaultRules returns the built-in rubric with every field filled in, for
// an operator to start from or to print.
func DefaultRules() Rules {
	levels := helpdesk.DefaultLevels()
	return Rules{
		Levels:       levels,
		Default:      helpdesk.Medium,
		Phrases:      defaultLevelPhrases(levels),
		WideScope:    append([]string(nil), defaultWide...),
		NarrowScope:  append([]string(nil), defaultNarrow...),
		Workaround:   append([]string(nil), defaultWorkaround...),
		Negation:     append([]string(nil), defaultNegation...),
		SingleScope:  append([]string(nil), defaultSingle...),
		Intermittent: append([]string(nil), defaultIntermittent...),
		Unscoped:     append([]string(nil), defaultUnscoped...),
		Services:     append([]string(nil), defaultServices...),
	}
}

// Hit categories: what a phrase list says. A hit's kind is its category
// shifted left by 8 bits, or'ed with the level rank for level and claim
// phrases.
const (
	catLevel = iota
	catChange
	catWide
	catNarrow
	catSingle
	catWorkaround
	catIntermittent
	catService
	catClaim
	catDegraded
)

// rankChange is the claim rank of the change category.
const rankChange = 0xff

func kindOf(cat, rank int) int { return cat<<8 | rank }
func catOf(kind int) int       { return kind >> 8 }
func rankOf(kind int) int      { return kind & 0xff }

// Triage applies one set of Rules. It is immutable after New and safe for
// concurrent use.
type Triage struct {
	levels helpdesk.Levels
	def    helpdesk.Priority
	m      matcher // level, change, scope, workaround, intermittent, service and claim phrases
	neg    matcher // negation phrases
	impact matcher // people named as the ones a failure hits
	vocab  vocab   // the words of all phrases
	when   *when.Parser
	// asciiLevels is set when every level's name is ASCII, which lets
	// mayClaim skip the subject expressions
	asciiLevels bool
	// useModel: the learned model names the level (default levels, and
	// the rules do not turn it off); model is its weights
	useModel      bool
	model         *lrModel
	modelMargin   float64 // how much surer than the rubric the model must be to change the level
	modelMinWords int     // the fewest words of a mail the model reads
	// the model's cost rule: critical from this probability of critical,
	// at least high from this one of critical or high
	modelCriticalAt, modelHighAt float64
	// fieldModel decides the learned fields (nil: the extractors alone)
	fieldModel *lrModel
	// sentenceModel has the last word on them, a sentence at a time (nil:
	// none)
	sentenceModel *lrModel
}

// New fills the empty fields of r from the defaults, validates them and
// compiles the phrase lists. The error lists every problem found.
func New(r Rules) (*Triage, error) {
	def := DefaultRules()
	if len(r.Levels.Order) == 0 && r.Levels.Change == "" {
		r.Levels = def.Levels
	}
	var errs []error
	seen := map[helpdesk.Priority]bool{}
	for _, p := range r.Levels.Order {
		if p == "" {
			errs = append(errs, errors.New("empty level name"))
		} else if seen[p] {
			errs = append(errs, fmt.Errorf("level %q listed twice", p))
		}
		seen[p] = true
	}
	if len(r.Levels.Order) == 0 {
		errs = append(errs, errors.New("no priority levels"))
	}
	if r.Levels.Change != "" && seen[r.Levels.Change] {
		errs = append(errs, fmt.Errorf("change category %q is also an ordered level", r.Levels.Change))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("triage rules: %w", errors.Join(errs...))
	}
	if r.Default == "" {
		r.Default = helpdesk.Medium
		if !r.Levels.Valid(r.Default) {
			r.Default = r.Levels.Order[min(2, len(r.Levels.Order)-1)]
		}
	}
	if !r.Levels.Valid(r.Default) {
		errs = append(errs, fmt.Errorf("default priority %q is not a level", r.Default))
	}
	phrases := defaultLevelPhrases(r.Levels)
	for p, list := range r.Phrases {
		if !r.Levels.Valid(p) {
			errs = append(errs, fmt.Errorf("phrases for unknown level %q", p))
			continue
		}
		if len(list) > 0 {
			phrases[p] = list
		}
	}
	orDefault := func(list, d []string) []string {
		if len(list) == 0 {
			return d
		}
		return list
	}
	t := &Triage{levels: r.Levels, def: r.Default, modelMargin: modelMargin, modelMinWords: modelMinWords,
		modelCriticalAt: modelCriticalAt, modelHighAt: modelHighAt,
		useModel: !r.NoModel && slices.Equal(r.Levels.Order, def.Levels.Order) && r.Levels.Change == def.Levels.Change}
	t.m.tokensPerHit = 8
	add := func(m *matcher, kind int, what string, list []string) {
		if err := m.add(kind, list); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	for rank, p := range r.Levels.Order {
		add(&t.m, kindOf(catLevel, rank), "phrases "+string(p), phrases[p])
	}
	if r.Levels.Change != "" {
		add(&t.m, kindOf(catChange, 0), "phrases "+string(r.Levels.Change), phrases[r.Levels.Change])
	} else {
		// Without a change category, change requests rank with the last level.
		add(&t.m, kindOf(catLevel, len(r.Levels.Order)-1), "change phrases", defaultChange)
	}
	add(&t.m, kindOf(catWide, 0), "wide scope", orDefault(r.WideScope, def.WideScope))
	add(&t.m, kindOf(catNarrow, 0), "narrow scope", orDefault(r.NarrowScope, def.NarrowScope))
	add(&t.m, kindOf(catSingle, 0), "single scope", orDefault(r.SingleScope, def.SingleScope))
	add(&t.m, kindOf(catWorkaround, 0), "workaround", orDefault(r.Workaround, def.Workaround))
	add(&t.m, kindOf(catIntermittent, 0), "intermittent", orDefault(r.Intermittent, def.Intermittent))
	add(&t.m, kindOf(catService, 0), "services", orDefault(r.Services, def.Services))
	add(&t.m, kindOf(catService, 1), "screen parts", uiParts)
	// Slowness is read with the built-in list whatever the configured
	// level lists say: it decides whether a failure for everyone is the
	// first level (see decide) and whether a claim of it is taken.
	add(&t.m, kindOf(catDegraded, 0), "degraded", defaultDegraded)
	for _, c := range claimPhrases {
		add(&t.m, kindOf(catClaim, c.rank), "claim", c.phrases)
	}
	add(&t.neg, 0, "negation", orDefault(r.Negation, def.Negation))
	add(&t.impact, 0, "impact", impactPhrases)
	add(&t.impact, 1, "impact", impactFor)
	add(&t.impact, 2, "impact", impactBusiness)
	unscoped := map[string]bool{}
	for _, u := range orDefault(r.Unscoped, def.Unscoped) {
		unscoped[normPhrase(u)] = true
	}
	degraded := map[string]bool{}
	for _, q := range defaultDegraded {
		degraded[normPhrase(q)] = true
	}
	question := map[string]bool{}
	for _, q := range defaultQuestion {
		question[normPhrase(q)] = true
	}
	contrast := map[string]bool{}
	for _, q := range defaultContrast {
		contrast[normPhrase(q)] = true
	}
	for _, p := range t.m.pats {
		p.unscoped = unscoped[normPhrase(p.src)]
		p.question = question[normPhrase(p.src)]
		p.degraded = degraded[normPhrase(p.src)]
		p.contrast = contrast[normPhrase(p.src)]
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("triage rules: %w", errors.Join(errs...))
	}
	t.vocab = vocab{}
	for _, m := range []*matcher{&t.m, &t.neg, &t.impact} {
		m.intern(t.vocab)
	}
	for _, m := range []*matcher{&t.m, &t.neg, &t.impact} {
		m.build(t.vocab)
	}
	t.asciiLevels = isASCII(string(r.Levels.Change))
	for _, p := range r.Levels.Order {
		t.asciiLevels = t.asciiLevels && isASCII(string(p))
	}
	t.when = when.New(&rules.Options{Distance: 5, MatchByOrder: true})
	t.when.Add(en.All...)
	t.when.Add(common.All...)
	if t.useModel {
		// A model that does not decode leaves the rubric alone;
		// TestModelDecodes keeps that from shipping.
		m, err := embeddedModel()
		t.model, t.useModel = m, err == nil
	}
	if !r.NoModel {
		if m, err := embeddedFieldModel(); err == nil {
			t.fieldModel = m
		}
		if m, err := embeddedSentenceModel(); err == nil {
			t.sentenceModel = m
		}
	}
	return t, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func normPhrase(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// Levels returns the levels t ranks into.
func (t *Triage) Levels() helpdesk.Levels { return t.levels }

// Input is one mail to triage.
type Input struct {
	Subject  string
	Text     string            // the new text of the mail (quoted history already stripped by the parser)
	Date     time.Time         // the mail's Date, for relative times; zero = unknown
	Location *time.Location    // customer's zone if known, else nil (use Date's zone)
	Default  helpdesk.Priority // per-mailbox/per-plan default priority, "" = Rules.Default
	// Policy is the SLA policy of the mailbox the mail came to
	// ("prospectsoft", "storeconnect", ...), which picks the policy's
	// mapping of incident facts to levels; "" or an unknown name uses the
	// general mapping.
	Policy string
}

// subjectText returns the part of the subject that describes this mail. A
// reply's subject repeats the thread's first mail and says nothing about
// the new text, so it is dropped; a forward's is kept without its prefix.
// The prefixes are message.SubjectPrefixes', the desk's too.
func subjectText(s string) string {
	base, reply, _ := message.SubjectPrefixes(s)
	if reply {
		return ""
	}
	return base
}

// analysis is one mail tokenized and matched against every list.
type analysis struct {
	d       doc
	subject string // the subject as used (empty for replies)
	hits    []hit
	// asciiLower of the subject and of the text, made once for every
	// phase that reads lower-case text
	subjectLower, textLower string
	text                    string          // the text analysed
	lines                   []string        // the text's lines, once one phase needs them
	stated                  map[string]bool // the fields the text has a labelled line for
	wordBuckets             []uint32        // the hashed words and pairs the learned models read, once one needs them
	textWords               []wordAt        // where each word of the text hashed into wordBuckets starts, and its hash
	textWordsAll            bool            // textWords holds every word of the text (it stopped short of modelMaxWords)
}

// textLines returns the lines of the text, split once for every phase.
func (a *analysis) textLines() []string {
	if a.lines == nil {
		a.lines = strings.Split(a.text, "\n")
	}
	return a.lines
}

func (t *Triage) analyse(in Input) *analysis {
	a := &analysis{subject: subjectText(in.Subject), text: in.Text}
	src := in.Text
	if a.subject != "" {
		src = a.subject + "\n\n" + in.Text
	}
	// src ends with the text and starts with the subject, and asciiLower
	// keeps every offset.
	lower := ascii.Lower(src)
	a.subjectLower, a.textLower = lower[:len(a.subject)], lower[len(src)-len(in.Text):]
	var buf []token
	if p, ok := tokenPool.Get().(*[]token); ok {
		buf = *p
	}
	a.d = tokenizeLower(src, lower, buf)
	t.vocab.ids(&a.d)
	negAt := make([]bool, len(a.d.toks))
	for _, h := range t.neg.find(&a.d) {
		for k := h.start; k < h.end; k++ {
			negAt[k] = true
		}
	}
	a.hits = t.m.find(&a.d)
	negate(&a.d, a.hits, negAt)
	return a
}

// tokenPool keeps token buffers between mails: a mail's tokens are by
// far the largest thing triage allocates.
var tokenPool sync.Pool

// release hands a's token buffer back to tokenPool. Nothing may use a
// afterwards; what Assess and Fields return holds no token.
func (a *analysis) release() {
	toks := a.d.toks
	clear(toks) // drop the words, which point into the mail's text
	toks = toks[:0]
	a.d.toks = nil
	tokenPool.Put(&toks)
	putBuckets(a.wordBuckets)
	a.wordBuckets = nil
	if a.textWords != nil {
		ws := a.textWords[:0]
		wordsAtPool.Put(&ws)
		a.textWords = nil
	}
}

// maxText and maxSubject bound how much of a mail triage reads: the
// incident is described at the top, and the cost of a huge mail stays a
// few milliseconds.
const (
	maxText    = 64 << 10
	maxSubject = 1 << 10
)

// limit cuts in's text and subject to maxText and maxSubject bytes, at a
// line break where there is one near the end, and never inside a UTF-8
// sequence.
func limit(in Input) Input {
	cut := func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		s = s[:n]
		if i := strings.LastIndexByte(s, '\n'); i > n-n/8 {
			return s[:i]
		}
		for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0x80 {
			s = s[:len(s)-1] // an incomplete sequence's first byte
		}
		return s
	}
	in.Text = dropBoilerplate(cut(in.Text, maxText))
	in.Subject = cut(in.Subject, maxSubject)
	return in
}

// maxDisclaimer is the longest text dropDisclaimers takes for a
// disclaimer; a longer one is kept as text.
const maxDisclaimer = 2000

// dropBoilerplate removes from a mail's text what says nothing of the
// incident: the header blocks of forwarded or quoted mails
// (dropHeaderBlocks) and confidentiality notices (dropDisclaimers). The
// text is split into lines once, for both, and joined again only when
// one of them dropped something.
func dropBoilerplate(text string) string {
	headers, notices := strings.Contains(text, ":"), mayBeConfidential(text)
	if !headers && !notices {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	dropped := false
	if headers {
		lines, dropped = dropHeaderBlocks(lines)
	}
	if notices {
		var d bool
		lines, d = dropDisclaimers(lines)
		dropped = dropped || d
	}
	if !dropped {
		return text
	}
	return strings.Join(lines, "")
}

// dropDisclaimers removes the confidentiality notices mail systems
// append ("This e-mail is confidential and intended solely for the
// addressee ... may be unlawful"), whose legal words say nothing of the
// incident: in a paragraph, from the first line that says "confidential"
// or "privileged" to the paragraph's end, when that part is a notice
// (isDisclaimer). Lines of the paragraph before it stay. It returns the
// lines kept, and whether it dropped any.
func dropDisclaimers(lines []string) ([]string, bool) {
	e := lineEdit{lines: lines}
	for i := 0; i < len(lines); {
		// the paragraph is lines[i:end]
		end := i
		for end < len(lines) && strings.TrimSpace(lines[end]) != "" {
			end++
		}
		if end == i {
			end++ // a blank line
		}
		from := -1
		for k := i; k < end && from < 0; k++ {
			if mayBeConfidential(lines[k]) {
				from = k
			}
		}
		if from >= 0 && isDisclaimer(lines[from:end]) {
			e.edit(i)
			e.write(lines[i:from]...)
			e.write("\n")
		} else {
			e.keep(i, end)
		}
		i = end
	}
	return e.result()
}

// lineEdit collects the lines a filter keeps, from the first line it
// drops: lines left alone are never copied.
type lineEdit struct {
	lines  []string
	out    []string
	edited bool
}

// edit starts the copy, if it has not started, with the lines before
// line i.
func (e *lineEdit) edit(i int) {
	if e.edited {
		return
	}
	e.edited = true
	e.out = append(make([]string, 0, len(e.lines)), e.lines[:i]...)
}

// write adds lines to the copy.
func (e *lineEdit) write(ss ...string) { e.out = append(e.out, ss...) }

// keep adds lines[i:j] to the copy, once it has started.
func (e *lineEdit) keep(i, j int) {
	if e.edited {
		e.write(e.lines[i:j]...)
	}
}

// result returns the lines kept and whether any was dropped.
func (e *lineEdit) result() ([]string, bool) {
	if !e.edited {
		return e.lines, false
	}
	return e.out, true
}

// mayBeConfidential reports whether s says "confidential" or
// "privileged", in lower case or in capitals after the first letter.
func mayBeConfidential(s string) bool {
	return strings.Contains(s, "onfidential") || strings.Contains(s, "rivileged") ||
		strings.Contains(s, "ONFIDENTIAL") || strings.Contains(s, "RIVILEGED")
}

// selfMarks are how a confidentiality notice names the mail it is
// appended to; a report that confidential data reached the wrong
// addressee does not speak of "this email".
var selfMarks = []string{"this e-mail", "this email", "this mail", "this message", "this communication", "this transmission"}

// disclaimerMarks are what a confidentiality notice says besides
// "confidential": to whom the mail is meant, and what to do with it
// otherwise.
var disclaimerMarks = []string{"intended recipient", "intended solely", "intended only", "intended exclusively",
	"addressee", "not the intended", "received this e-mail", "received this email", "received this message",
	"received this communication", "received it in error"}

// isDisclaimer reports whether lines, the first of which says
// "confidential", read as a notice appended to a mail: they name the mail
// itself (selfMarks) and whom it is meant for or what to do when it went
// astray (disclaimerMarks).
func isDisclaimer(lines []string) bool {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n > maxDisclaimer {
		return false
	}
	s := strings.Join(lines, "")
	return containsAnyFold(s, selfMarks) && containsAnyFold(s, disclaimerMarks)
}

// containsAnyFold reports whether s holds one of marks (lower case),
// whatever the case of its ASCII letters.
func containsAnyFold(s string, marks []string) bool {
	for _, m := range marks {
		if ascii.IndexFold(s, m) >= 0 {
			return true
		}
	}
	return false
}

// dropHeaderBlocks removes the header blocks of forwarded or quoted mails
// ("From: ... Sent: ... To: ..."), whose dates and names say nothing of
// the incident, keeping their Subject lines: two or more header lines in
// a row, one of them naming the sender. It returns the lines kept, and
// whether it dropped any.
func dropHeaderBlocks(lines []string) ([]string, bool) {
	e := lineEdit{lines: lines}
	for i := 0; i < len(lines); {
		j, from := i, false
		for j < len(lines) {
			name, ok := headerLineName(lines[j])
			if !ok {
				break
			}
			from = from || senderHeaders[name]
			j++
		}
		if j-i >= 2 && from {
			e.edit(i)
			for _, l := range lines[i:j] {
				if name, _ := headerLineName(l); subjectHeaders[name] {
					e.write(l)
				}
			}
			i = j
			continue
		}
		if j == i {
			j++
		}
		e.keep(i, j)
		i = j
	}
	return e.result()
}

// headerLineName returns the lower-case name of a header-shaped line
// ("From: x", "*Sent:* y", "Von: z") whose name is a known one.
func headerLineName(line string) (string, bool) {
	l := strings.TrimLeft(line, " \t*>")
	k := strings.IndexByte(l, ':')
	if k <= 0 || k > 12 {
		return "", false
	}
	name := strings.ToLower(strings.TrimRight(l[:k], " *"))
	return name, forwardHeaders[name]
}

// forwardHeaders are the header names mail clients write above a
// forwarded or quoted mail, in the common languages; senderHeaders and
// subjectHeaders are those that name the sender and the subject.
var (
	forwardHeaders = map[string]bool{
		"from": true, "sent": true, "date": true, "to": true, "cc": true, "bcc": true, "subject": true, "reply-to": true,
		"von": true, "gesendet": true, "an": true, "betreff": true, "datum": true, "de": true, "envoyé": true,
		"à": true, "objet": true, "para": true, "enviado": true, "asunto": true, "fecha": true, "da": true,
		"inviato": true, "a": true, "oggetto": true, "data": true, "assunto": true, "van": true, "verzonden": true,
		"onderwerp": true, "aan": true,
	}
	senderHeaders  = map[string]bool{"from": true, "von": true, "de": true, "da": true, "van": true}
	subjectHeaders = map[string]bool{"subject": true, "betreff": true, "objet": true, "asunto": true, "oggetto": true, "assunto": true, "onderwerp": true}
)

// Assess ranks one mail and extracts its fields.
//
// The content is ranked first. Phrases of the two most urgent levels win
// over everything else, the more urgent first; failing those, a change
// request is the change category; failing that, of the less urgent levels
// the least urgent with a phrase wins, because "typo" is more telling
// than the "wrong" that comes with it. A quoted error message alone counts
// as the third level; with no evidence at all the mailbox's or the rules'
// default applies. Then the level moves by one step: a part of the users
// or one user affected lowers the most urgent level (except for data loss,
// security, prices and legal phrases); one user lowers the second; a
// workaround lowers either; a failure that comes and goes caps at the
// second; everyone affected, a part of the users or intermittency raise
// the third to the second. Negations ("not down", "no data was lost") and
// hypotheticals ("if the site goes down") cancel the phrase they precede.
//
// On top of the phrases, facts of issue 15 are read: question and
// admin-request phrases give the low level only when no failure is
// described; a count read as numbers ("3 of our 40 stores", "15% of
// payments", less than half) is a partial scope and beats wide words;
// "Workaround: none" is no workaround; exposure of another party's data,
// credentials that never expire and legal liability are critical
// whatever the scope. Where the vendor policies differ, in.Policy picks
// the mapping (policy.go): whether a wide or a partial scope raises a
// malfunction, and whether a function failing for everyone with no
// workaround is the first level.
//
// Then the customer's claim, if any, is judged: it is taken when it is at
// most one level from the content, except that content at the most urgent
// level is never lowered and a claim of the first level on slowness alone
// is not taken.
func (t *Triage) Assess(in Input) helpdesk.Assessment {
	in = limit(in)
	an := t.analyse(in)
	out, ev, dec := t.rubric(in, an)
	t.applyModel(an, &ev, dec, &out, in.Policy)
	an.release()
	return out
}

// rubric ranks an analysed mail by the phrase lists and the policy's
// mapping alone, judges its claim and extracts its fields.
func (t *Triage) rubric(in Input, an *analysis) (helpdesk.Assessment, evidence, decision) {
	fields := t.fields(in, an)
	ev := t.gather(an)
	dec := t.decide(an, &ev, in.Default, fields.ErrorText, mapFor(in.Policy))
	out := helpdesk.Assessment{Assessed: dec.level, Priority: dec.level}
	reasons := dec.reasons
	if c, ok := t.findClaim(in, an); ok {
		claimReason := t.judgeClaim(&out, c, dec)
		if out.ClaimAccepted && out.Priority != out.Assessed {
			reasons = append([]string{claimReason}, reasons...)
		} else {
			reasons = append(reasons, claimReason)
		}
	}
	out.Reasons = reasons
	out.Fields = fields
	// The level is judged on what the extractors found, as the level
	// model learned it; the detectors then decide the fields.
	t.detectFields(an, &out.Fields, in.Policy)
	return out, ev, dec
}

// Fields extracts the incident facts of one mail without ranking it; the
// desk uses it on later customer replies to shrink the missing list.
func (t *Triage) Fields(in Input) helpdesk.Fields {
	in = limit(in)
	an := t.analyse(in)
	f := t.fields(in, an)
	t.detectFields(an, &f, in.Policy)
	an.release()
	return f
}

// detectFields lets the learned detectors decide the fields the
// extractors found in f: the field detector, then the sentence detector.
func (t *Triage) detectFields(an *analysis, f *helpdesk.Fields, policy string) {
	impact, ok := t.applyFieldModel(an, f, policy)
	t.applySentenceModel(an, f, impact, ok)
}

// ClaimNote returns one polite sentence for the acknowledgement when the
// customer's declared priority was not taken, and "" otherwise.
func (t *Triage) ClaimNote(a helpdesk.Assessment) string {
	if a.Claimed == "" || a.ClaimAccepted || a.Claimed == a.Priority {
		return ""
	}
	cr, _ := t.levels.Rank(a.Claimed)
	pr, _ := t.levels.Rank(a.Priority)
	isChange := func(p helpdesk.Priority) bool { return p != "" && p == t.levels.Change }
	claimed, given := string(a.Claimed), string(a.Priority)+" priority"
	if isChange(a.Claimed) {
		claimed = "a change request"
	}
	if isChange(a.Priority) {
		given = "a change request"
	}
	if cr > pr && !isChange(a.Priority) {
		return fmt.Sprintf("You marked this request as %s, but from what you describe we have given it %s so that it gets attention straight away.", claimed, given)
	}
	return fmt.Sprintf("Thank you for marking this request as %s; from the details in your message we have logged it as %s for now, and we will raise it at once if you tell us the impact is wider than described.", claimed, given)
}

// signOffLines is how many of a mail's last non-empty lines signOff
// looks through.
const signOffLines = 12

// signOff returns the index of the line where the writer's name and
// signature start, or len(lines) when it finds none: a closing line
// ("Kind regards,", "Thanks, Bianca"; message.Closing) among the last
// signOffLines non-empty lines, or else up to four short lines at the
// end, after a blank line or a line that ends a sentence, that open with
// a name and end no sentence ("Robert Tanaka" / "Head of People, Pacific
// Rim Logistics"). What follows names the writer, a title and a
// company, which say nothing of the incident.
func signOff(lines []string) int {
	seen := 0
	for i := len(lines) - 1; i >= 0 && seen < signOffLines; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		seen++
		// "Kind regards," or "Thanks, Bianca", not "Thanks for the fix"
		if rest, ok := message.Closing(l); ok && (rest == "" || message.NameLike(rest)) {
			return i
		}
	}
	// the last paragraph, when it looks like a name and a title
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	start := end
	for start > 0 && strings.TrimSpace(lines[start-1]) != "" {
		l := strings.TrimSpace(lines[start-1])
		if end-start >= 4 || len(l) > 60 || strings.ContainsAny(l[len(l)-1:], ".?!:") {
			if start == end {
				return len(lines) // the text ends with a sentence
			}
			break // the report's last sentence, with the name below it
		}
		start--
	}
	if start == 0 || start == end || !message.NameLike(strings.TrimSpace(lines[start])) {
		return len(lines) // the whole text, none, or not a name
	}
	return start
}
