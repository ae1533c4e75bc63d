package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/sla"
)

//go:embed builtin.toml
var builtinTOML []byte

// loader turns one file into a Config, collecting problems as it goes.
type loader struct {
	file string // name in problems
	dir  string // absolute directory relative paths resolve against
	opts Options
	pos  *positions

	builtin     bool              // validating builtin.toml: skip entries for levels not configured
	builtinRaw  *rawFile          // builtin.toml decoded, once per load
	builtinPos  *positions        // its key positions
	policyKey   map[string]string // policy name -> key path of its [[policy]] in the file
	suppressed  []string          // key paths of values dropped for their type; no further problems about them
	broken      map[string]bool   // "calendar:name" or "policy:name" declared with errors; references to it stay quiet
	stateDirBad bool              // $STATE_DIRECTORY's problem is reported

	errs  []Problem
	warns []Problem
}

// isSuppressed reports whether key is, or is inside, a value dropped for its
// type, whose problem is already reported.
func (l *loader) isSuppressed(key string) bool {
	for _, s := range l.suppressed {
		if key == s || strings.HasPrefix(key, s+".") || strings.HasPrefix(key, s+"[") {
			return true
		}
	}
	return false
}

func (l *loader) errf(key, format string, args ...any) {
	if l.isSuppressed(key) {
		return
	}
	l.errs = append(l.errs, Problem{File: l.file, Line: l.pos.lookup(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(key, format string, args ...any) {
	if l.isSuppressed(key) {
		return
	}
	l.warns = append(l.warns, Problem{File: l.file, Line: l.pos.lookup(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// sortProblems orders problems by line, keeping the order of those on the
// same line; problems without a line come first, and problems of
// builtin.toml (which would be bugs) last.
func sortProblems(ps []Problem) {
	rank := func(p Problem) int {
		if p.File == "builtin.toml" {
			return 1
		}
		return 0
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ri, rj := rank(ps[i]), rank(ps[j]); ri != rj {
			return ri < rj
		}
		return ps[i].Line < ps[j].Line
	})
}

// load decodes and validates data. complete is false for Default(), which
// has no SMTP server, mailboxes or agents yet.
func (l *loader) load(data []byte, complete bool) *Config {
	raw := rawDefaults()
	if !l.decode(data, &raw) {
		return nil
	}
	c := &Config{File: l.file}
	l.triage(raw.Triage, c)
	l.calendars(raw.Calendar, c)
	l.policies(raw.Policy, c)
	l.teams(raw.Team, raw.Agent, c)
	l.store(raw.Store, c)
	l.smtp(raw.SMTP, c, complete)
	l.sla(raw.SLA, c)
	l.mailboxes(raw.Mailbox, c, complete)
	l.customers(raw.Customer, c)
	l.http(raw.HTTP, c)
	l.log(raw.Log, c)
	l.desk(raw.Desk, c)
	l.digest(raw.Digest, c)
	l.crossChecks(c, complete)
	return c
}

// --- [triage] ---------------------------------------------------------------

func (l *loader) triage(t rawTriage, c *Config) {
	c.Levels = helpdesk.DefaultLevels()
	if l.pos.has("triage.levels") {
		var order []helpdesk.Priority
		seen := map[string]bool{}
		for i, s := range t.Levels {
			key := fmt.Sprintf("triage.levels[%d]", i)
			switch {
			case !validLevel(s):
				l.errf(key, "level %q: use lower-case letters, digits, '-' or '_'", s)
			case seen[s]:
				l.errf(key, "level %q is listed twice", s)
			default:
				seen[s] = true
				order = append(order, helpdesk.Priority(s))
			}
		}
		if len(t.Levels) == 0 {
			l.errf("triage.levels", "at least one level is required")
		}
		if len(order) > 0 {
			c.Levels.Order = order
		}
	}
	c.Levels.Change = helpdesk.Priority(t.ChangeLevel)
	if t.ChangeLevel != "" {
		switch {
		case !validLevel(t.ChangeLevel):
			l.errf("triage.change_level", "%q: use lower-case letters, digits, '-' or '_'", t.ChangeLevel)
			c.Levels.Change = ""
		case slices.Contains(c.Levels.Order, helpdesk.Priority(t.ChangeLevel)):
			l.errf("triage.change_level", "%q is also one of the levels; the change category must be separate", t.ChangeLevel)
			c.Levels.Change = ""
		}
	}
	c.Triage.DefaultPriority = helpdesk.Priority(t.DefaultPriority)
	if !c.Levels.Valid(c.Triage.DefaultPriority) {
		l.errf("triage.default_priority", "%q is not a level (%s)", t.DefaultPriority, levelList(c.Levels))
	}
	c.Triage.Model = t.Model == nil || *t.Model
	c.Triage.WideScope = l.phraseList("triage.wide_scope", t.WideScope)
	c.Triage.NarrowScope = l.phraseList("triage.narrow_scope", t.NarrowScope)
	c.Triage.Workaround = l.phraseList("triage.workaround", t.Workaround)
	c.Triage.Negation = l.phraseList("triage.negation", t.Negation)
	if len(t.Phrases) > 0 {
		c.Triage.Phrases = map[helpdesk.Priority][]string{}
		for _, k := range slices.Sorted(maps.Keys(t.Phrases)) {
			key := "triage.phrases." + k
			if !c.Levels.Valid(helpdesk.Priority(k)) {
				l.errf(key, "%q is not a level or the change level (%s)", k, levelList(c.Levels))
				continue
			}
			c.Triage.Phrases[helpdesk.Priority(k)] = l.phraseList(key, t.Phrases[k])
		}
	}
}

// phraseList trims the phrases of a list; an empty phrase is an error.
func (l *loader) phraseList(key string, list []string) []string {
	var out []string
	for i, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			l.errf(fmt.Sprintf("%s[%d]", key, i), "empty phrase")
			continue
		}
		out = append(out, s)
	}
	return out
}

func levelList(lv helpdesk.Levels) string {
	names := make([]string, 0, len(lv.Order)+1)
	for _, p := range lv.All() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// --- [[calendar]] and [[policy]] -----------------------------------------------

// withBuiltin runs f on the decoded builtin.toml, with problems attributed
// to that file.
func (l *loader) withBuiltin(f func(raw *rawFile)) {
	if l.builtinRaw == nil {
		raw := rawFile{}
		b := &loader{file: "builtin.toml"}
		if !b.decode(builtinTOML, &raw) {
			panic("config: builtin.toml does not decode: " + (&Error{Problems: b.errs}).Error())
		}
		l.builtinRaw, l.builtinPos = &raw, b.pos
	}
	file, pos := l.file, l.pos
	l.file, l.pos, l.builtin = "builtin.toml", l.builtinPos, true
	defer func() { l.file, l.pos, l.builtin = file, pos, false }()
	f(l.builtinRaw)
}

var weekdayKeys = []struct {
	key string
	day time.Weekday
}{
	{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday}, {"thu", time.Thursday},
	{"fri", time.Friday}, {"sat", time.Saturday}, {"sun", time.Sunday},
}

func (l *loader) calendars(list []rawCalendar, c *Config) {
	c.Calendars = map[string]*sla.Calendar{}
	declared := map[string]string{}
	for i, rc := range list {
		key := fmt.Sprintf("calendar[%d]", i)
		if other, dup := declared[rc.Name]; dup && rc.Name != "" {
			l.errf(key+".name", "calendar %q is already declared at %s", rc.Name, other)
			continue
		}
		declared[rc.Name] = key
		if cal := l.calendar(key, rc); cal != nil {
			c.Calendars[rc.Name] = cal
		} else {
			l.markBroken("calendar", rc.Name)
		}
	}
	l.withBuiltin(func(raw *rawFile) {
		for i, rc := range raw.Calendar {
			if _, ok := declared[rc.Name]; ok {
				continue
			}
			if cal := l.calendar(fmt.Sprintf("calendar[%d]", i), rc); cal != nil {
				c.Calendars[rc.Name] = cal
			} else {
				l.markBroken("calendar", rc.Name)
			}
		}
	})
}

// calendar validates one [[calendar]] and builds it; nil if it has errors.
func (l *loader) calendar(key string, rc rawCalendar) *sla.Calendar {
	before := len(l.errs)
	if rc.Name == "" {
		l.errf(key+".name", "required")
	} else if !validName(rc.Name) {
		l.errf(key+".name", "%q is not a usable name", rc.Name)
	}
	spec := sla.CalendarSpec{Name: rc.Name, TimeZone: rc.TimeZone, Always: rc.Always, Hours: map[time.Weekday][]sla.TimeRange{}}
	switch tz := rc.TimeZone; {
	case tz == "Local" || strings.EqualFold(tz, "local"):
		l.errf(key+".timezone", "name the zone (e.g. \"Europe/London\"); the machine's local zone is not portable")
	case tz != "":
		if _, err := time.LoadLocation(tz); err != nil {
			l.errf(key+".timezone", "unknown time zone %q (want an IANA name such as \"Europe/London\")", tz)
		}
	}
	for i, r := range rc.Holidays {
		if !sla.KnownRegion(r) {
			l.errf(fmt.Sprintf("%s.holidays[%d]", key, i), "unknown holiday region %q (known: %s)", r, strings.Join(sla.Regions(), ", "))
			continue
		}
		spec.Regions = append(spec.Regions, r)
	}
	for i, s := range rc.Closed {
		d, err := sla.ParseDateRange(s)
		if err != nil {
			l.errf(fmt.Sprintf("%s.closed[%d]", key, i), "%v", err)
			continue
		}
		spec.Dates = append(spec.Dates, d)
	}
	weekdays := l.hoursList(key+".hours.weekdays", rc.Hours.Weekdays)
	days := [...][]string{rc.Hours.Mon, rc.Hours.Tue, rc.Hours.Wed, rc.Hours.Thu, rc.Hours.Fri, rc.Hours.Sat, rc.Hours.Sun}
	anyHours := false
	for i, wk := range weekdayKeys {
		dayKey := key + ".hours." + wk.key
		var ranges []sla.TimeRange
		switch {
		case l.pos.has(dayKey):
			ranges = l.hoursList(dayKey, days[i])
		case wk.day >= time.Monday && wk.day <= time.Friday:
			ranges = weekdays
		}
		if len(ranges) > 0 {
			spec.Hours[wk.day] = ranges
			anyHours = true
		}
	}
	if rc.Always {
		if anyHours || len(rc.Hours.Weekdays) > 0 {
			l.errf(key+".hours", "opening hours have no effect when always = true (24x7)")
		}
		if len(rc.Holidays) > 0 || len(rc.Closed) > 0 {
			l.errf(key+".always", "a 24x7 calendar (always = true) has no holidays or closed days; remove holidays/closed or always")
		}
	} else if !anyHours && len(l.errs) == before {
		l.errf(key+".hours", "no opening hours: set [calendar.hours] (e.g. weekdays = [\"09:00-17:00\"]) or always = true")
	}
	if len(l.errs) > before {
		return nil
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		l.errf(key, "%v", err)
		return nil
	}
	return cal
}

// hoursList parses the ranges of one day, rejecting overlaps.
func (l *loader) hoursList(key string, list []string) []sla.TimeRange {
	var out []sla.TimeRange
	var src []string
	for i, s := range list {
		r, err := sla.ParseTimeRange(s)
		if err != nil {
			l.errf(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			continue
		}
		out = append(out, r)
		src = append(src, s)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return out[idx[a]].Start < out[idx[b]].Start })
	for k := 1; k < len(idx); k++ {
		a, b := idx[k-1], idx[k]
		if out[b].Start < out[a].End {
			l.errf(key, "hours %q and %q overlap", src[a], src[b])
			return nil
		}
	}
	return out
}

func (l *loader) markBroken(kind, name string) {
	if l.broken == nil {
		l.broken = map[string]bool{}
	}
	l.broken[kind+":"+name] = true
}

// calendarRef resolves a reference to a calendar. A calendar declared with
// errors is not reported again.
func (l *loader) calendarRef(key, name string, c *Config) *sla.Calendar {
	cal := c.Calendars[name]
	if cal == nil && !l.broken["calendar:"+name] {
		l.errf(key, "calendar %q is not defined", name)
	}
	return cal
}

// policyRef checks a reference to a policy. A policy declared with errors
// is not reported again.
func (l *loader) policyRef(key, name string, c *Config) {
	if c.Policies[name] == nil && !l.broken["policy:"+name] {
		l.errf(key, "policy %q is not defined", name)
	}
}

// escalation keywords of Step.Notify and Policy.EscalateTo.
var notifyKeywords = []string{"assignee", "team", "managers"}

func defaultRequired() map[helpdesk.Priority][]string {
	f := []string{helpdesk.FieldStartTime, helpdesk.FieldErrorText, helpdesk.FieldReproSteps}
	return map[helpdesk.Priority][]string{
		helpdesk.Critical: slices.Clone(f), helpdesk.High: slices.Clone(f), helpdesk.Medium: slices.Clone(f),
	}
}

func defaultLadder() []sla.Step {
	return []sla.Step{
		{Clock: sla.Response, At: 0.75, Notify: []string{"assignee", "team"}},
		{Clock: sla.Response, At: 1, Notify: []string{"managers"}},
		{Clock: sla.Resolution, At: 1, Notify: []string{"managers"}},
	}
}

func (l *loader) policies(list []rawPolicy, c *Config) {
	c.Policies = map[string]*sla.Policy{}
	declared := map[string]string{}
	l.policyKey = declared
	for i, rp := range list {
		key := fmt.Sprintf("policy[%d]", i)
		if other, dup := declared[rp.Name]; dup && rp.Name != "" {
			l.errf(key+".name", "policy %q is already declared at %s", rp.Name, other)
			continue
		}
		declared[rp.Name] = key
		if p := l.policy(key, rp, c); p != nil {
			c.Policies[rp.Name] = p
		} else {
			l.markBroken("policy", rp.Name)
		}
	}
	l.withBuiltin(func(raw *rawFile) {
		for i, rp := range raw.Policy {
			if _, ok := declared[rp.Name]; ok {
				continue
			}
			if p := l.policy(fmt.Sprintf("policy[%d]", i), rp, c); p != nil {
				c.Policies[rp.Name] = p
			} else {
				l.markBroken("policy", rp.Name)
			}
		}
	})
}

// level checks a priority name against the levels. Built-in entries for
// levels the file does not configure are skipped silently.
func (l *loader) level(key, s string, c *Config) (helpdesk.Priority, bool) {
	p := helpdesk.Priority(s)
	if c.Levels.Valid(p) {
		return p, true
	}
	if !l.builtin {
		if s == "" {
			l.errf(key, "required")
		} else {
			l.errf(key, "unknown level %q (levels: %s)", s, levelList(c.Levels))
		}
	}
	return "", false
}

// recipients checks a list of escalation keywords and addresses.
func (l *loader) recipients(key string, list []string) []string {
	var out []string
	for i, s := range list {
		s = strings.TrimSpace(s)
		if slices.Contains(notifyKeywords, strings.ToLower(s)) {
			out = append(out, strings.ToLower(s))
			continue
		}
		a, err := parseBareAddress(s)
		if err != nil {
			l.errf(fmt.Sprintf("%s[%d]", key, i), "%q is neither a keyword (%s) nor a mail address", s, strings.Join(notifyKeywords, ", "))
			continue
		}
		out = append(out, a)
	}
	return out
}

// policy validates one [[policy]] and builds it; nil if it has errors.
func (l *loader) policy(key string, rp rawPolicy, c *Config) *sla.Policy {
	before := len(l.errs)
	if rp.Name == "" {
		l.errf(key+".name", "required")
	} else if !validName(rp.Name) {
		l.errf(key+".name", "%q is not a usable name", rp.Name)
	}
	p := &sla.Policy{Name: rp.Name, PauseWhenPending: rp.PauseWhenPending == nil || *rp.PauseWhenPending}
	calName := rp.Calendar
	if calName == "" {
		calName = defaultCalendarName
	}
	p.Calendar = l.calendarRef(key+".calendar", calName, c)
	bad := p.Calendar == nil
	if l.pos.has(key + ".escalate_to") {
		p.EscalateTo = l.recipients(key+".escalate_to", rp.EscalateTo)
		if len(rp.EscalateTo) == 0 {
			l.errf(key+".escalate_to", "name at least one recipient (e.g. \"managers\")")
		}
	} else {
		p.EscalateTo = []string{"managers"}
	}

	if l.pos.has(key + ".required") {
		p.Required = map[helpdesk.Priority][]string{}
		for _, k := range slices.Sorted(maps.Keys(rp.Required)) {
			rkey := key + ".required." + k
			prio, ok := l.level(rkey, k, c)
			if !ok {
				continue
			}
			seen := map[string]bool{}
			fields := []string{}
			for i, f := range rp.Required[k] {
				fkey := fmt.Sprintf("%s[%d]", rkey, i)
				switch {
				case !slices.Contains(helpdesk.FieldNames, f):
					l.errf(fkey, "unknown field %q (fields: %s)", f, strings.Join(helpdesk.FieldNames, ", "))
				case seen[f]:
					l.errf(fkey, "field %q is listed twice", f)
				default:
					seen[f] = true
					fields = append(fields, f)
				}
			}
			p.Required[prio] = fields
		}
	} else {
		p.Required = map[helpdesk.Priority][]string{}
		for prio, fields := range defaultRequired() {
			if c.Levels.Valid(prio) {
				p.Required[prio] = fields
			}
		}
	}

	type rulekey struct {
		prio helpdesk.Priority
		plan string
	}
	rules := map[rulekey]string{}
	for i, rt := range rp.Target {
		tkey := fmt.Sprintf("%s.target[%d]", key, i)
		prio, ok := l.level(tkey+".priority", rt.Priority, c)
		r := sla.Rule{Priority: prio, Plan: strings.TrimSpace(rt.Plan)}
		if r.Plan != "" && !validName(r.Plan) {
			l.errf(tkey+".plan", "%q is not a usable plan name", rt.Plan)
		}
		var err error
		if r.Response, err = sla.ParseTarget(string(rt.Response)); err != nil {
			l.errf(tkey+".response", "%v", err)
		}
		if r.Resolution, err = sla.ParseTarget(string(rt.Resolution)); err != nil {
			l.errf(tkey+".resolution", "%v", err)
		}
		if rt.Calendar != "" {
			r.Calendar = l.calendarRef(tkey+".calendar", rt.Calendar, c)
			bad = bad || r.Calendar == nil
		}
		if !ok {
			continue
		}
		rk := rulekey{prio, r.Plan}
		if other, dup := rules[rk]; dup {
			l.errf(tkey, "a target for priority %q and plan %q is already given at %s", prio, r.Plan, other)
			continue
		}
		rules[rk] = tkey
		p.Rules = append(p.Rules, r)
	}

	if l.pos.has(key + ".escalation") {
		p.Ladder = []sla.Step{}
		for i, rs := range rp.Escalation {
			skey := fmt.Sprintf("%s.escalation[%d]", key, i)
			st := sla.Step{Clock: sla.ClockKind(strings.ToLower(rs.Clock))}
			if st.Clock != sla.Response && st.Clock != sla.Resolution {
				l.errf(skey+".clock", "%q: want \"response\" or \"resolution\"", rs.Clock)
			}
			if rs.At == "" {
				l.errf(skey+".at", "required (e.g. \"75%%\" or 0.75)")
			} else if f, err := parseFraction(string(rs.At)); err != nil {
				l.errf(skey+".at", "%v", err)
			} else {
				st.At = f
			}
			st.Notify = l.recipients(skey+".notify", rs.Notify)
			if len(rs.Notify) == 0 {
				l.errf(skey+".notify", "name at least one recipient (assignee, team, managers or an address)")
			}
			keep := true
			for j, s := range rs.Priorities {
				if prio, ok := l.level(fmt.Sprintf("%s.priorities[%d]", skey, j), s, c); ok {
					st.Priorities = append(st.Priorities, prio)
				} else if l.builtin {
					keep = false
				}
			}
			if keep {
				p.Ladder = append(p.Ladder, st)
			}
		}
		sort.SliceStable(p.Ladder, func(i, j int) bool { return p.Ladder[i].At < p.Ladder[j].At })
	} else {
		p.Ladder = defaultLadder()
	}
	if bad || len(l.errs) > before {
		return nil
	}
	return p
}

// --- [[team]] and [[agent]] -------------------------------------------------

func (l *loader) teams(teams []rawTeam, agents []rawAgent, c *Config) {
	declared := map[string]string{}
	for i, rt := range teams {
		key := fmt.Sprintf("team[%d]", i)
		t := Team{Name: rt.Name, Declared: true}
		switch other, dup := declared[rt.Name]; {
		case rt.Name == "":
			l.errf(key+".name", "required")
			continue
		case !validName(rt.Name):
			l.errf(key+".name", "%q is not a usable name", rt.Name)
			continue
		case dup:
			l.errf(key+".name", "team %q is already declared at %s", rt.Name, other)
			continue
		}
		declared[rt.Name] = key
		if rt.Address != "" {
			a, err := parseBareAddress(rt.Address)
			if err != nil {
				l.errf(key+".address", "%v", err)
			}
			t.Address = a
		}
		c.Teams = append(c.Teams, t)
	}
	c.byAgent = map[string]int{}
	implicit := map[string]bool{}
	for i, ra := range agents {
		key := fmt.Sprintf("agent[%d]", i)
		a := Agent{Name: strings.TrimSpace(ra.Name), Team: ra.Team, Manager: ra.Manager}
		if ra.Email == "" {
			l.errf(key+".email", "required")
		} else if addr, err := parseBareAddress(ra.Email); err != nil {
			l.errf(key+".email", "%v", err)
		} else if j, dup := c.byAgent[addr]; dup {
			l.errf(key+".email", "agent %s is already declared at agent[%d]", addr, j)
		} else {
			a.Email = addr
		}
		if ra.Team != "" {
			if !validName(ra.Team) {
				l.errf(key+".team", "%q is not a usable team name", ra.Team)
			} else if _, ok := declared[ra.Team]; !ok && !implicit[ra.Team] {
				implicit[ra.Team] = true
				if len(declared) > 0 {
					l.warnf(key+".team", "team %q is not declared in a [[team]]; it exists because agents name it", ra.Team)
				}
				c.Teams = append(c.Teams, Team{Name: ra.Team})
			}
		}
		if a.Email != "" {
			c.byAgent[a.Email] = len(c.Agents)
		}
		c.Agents = append(c.Agents, a)
	}
}

func (c *Config) hasTeam(name string) bool {
	return slices.ContainsFunc(c.Teams, func(t Team) bool { return t.Name == name })
}

// --- [store], [smtp], [sla], [http], [log], [desk] -------------------------------

var refPrefixRE = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)

func (l *loader) store(s rawStore, c *Config) {
	c.Store = Store{RefPrefix: s.RefPrefix, RefStart: s.RefStart}
	switch {
	case s.Path == "":
		l.errf("store.path", "required")
	case !filepath.IsAbs(s.Path) && l.stateDir() != "":
		// systemd's StateDirectory=: the one place a sandboxed service
		// (ProtectSystem=strict, DynamicUser=) may write.
		c.Store.Path = filepath.Join(l.stateDir(), s.Path)
	default:
		c.Store.Path = l.abs(s.Path)
	}
	if c.Store.Path != "" && l.opts.CheckStore {
		if msg := checkStoreDir(c.Store.Path); msg != "" {
			l.errf("store.path", "%s", msg)
		}
	}
	if !refPrefixRE.MatchString(s.RefPrefix) {
		l.errf("store.ref_prefix", "%q: use 1 to 16 letters or digits", s.RefPrefix)
	}
	if s.RefStart < 1 || s.RefStart > 1e15 {
		l.errf("store.ref_start", "%d: must be between 1 and 10^15", s.RefStart)
	}
}

// stateDir is the first directory of $STATE_DIRECTORY (systemd's
// StateDirectory=), or "" when it is not set. A relative one is an error
// and ignored.
func (l *loader) stateDir() string {
	v, _ := l.opts.LookupEnv(StateDirectoryEnv)
	first, _, _ := strings.Cut(v, ":")
	if first == "" {
		return ""
	}
	if !filepath.IsAbs(first) {
		if !l.stateDirBad {
			l.stateDirBad = true
			l.errf("store.path", "$%s is %q, not an absolute directory", StateDirectoryEnv, v)
		}
		return ""
	}
	return filepath.Clean(first)
}

// credentialsDir is $CREDENTIALS_DIRECTORY (systemd's LoadCredential=), or
// "" when it is not set.
func (l *loader) credentialsDir() string {
	v, _ := l.opts.LookupEnv(CredentialsDirectoryEnv)
	if v == "" || !filepath.IsAbs(v) {
		return ""
	}
	return filepath.Clean(v)
}

// checkStoreDir says why the daemon could not write the database at path,
// or "" when it can: the directory must exist and take new files (the
// database, its -wal and -shm files and the run lock are created there),
// and those of the files that exist must open for writing.
func checkStoreDir(path string) string {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the database's directory %s does not exist", dir)
	case err != nil:
		return fmt.Sprintf("the database's directory: %v", err)
	case !fi.IsDir():
		return fmt.Sprintf("%s, the database's directory, is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".helpdeskd-check-*")
	if err != nil {
		return fmt.Sprintf("cannot create files in %s, where the database, its -wal and -shm files and its .lock file live: %v", dir, pathErrCause(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Sprintf("cannot open %s for writing: %v", p, pathErrCause(err))
		}
		f.Close()
	}
	return ""
}

// pathErrCause is the cause of a *fs.PathError without the path, which the
// message names already.
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// abs resolves a path against the configuration file's directory.
func (l *loader) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, p)
}

// security checks a security mode and the host it may be used with.
func (l *loader) security(key, mode, def, host string) Security {
	if mode == "" {
		mode = def
	}
	s := Security(strings.ToLower(mode))
	switch s {
	case SecurityTLS, SecurityStartTLS:
	case SecurityNone:
		if host != "" && !isLoopback(host) {
			l.errf(key+".security", "\"none\" sends passwords and mail in clear; it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not %q", host)
		}
	default:
		l.errf(key+".security", "%q: want \"tls\", \"starttls\" or \"none\"", mode)
	}
	return s
}

func (l *loader) port(key string, p int, s Security, tlsDefault, plainDefault int) int {
	if p == 0 {
		if s == SecurityTLS {
			return tlsDefault
		}
		return plainDefault
	}
	if p < 1 || p > 65535 {
		l.errf(key+".port", "%d: must be between 1 and 65535", p)
	}
	return p
}

func (l *loader) smtp(s rawSMTP, c *Config, complete bool) {
	m := SMTP{Host: strings.TrimSpace(s.Host), Username: s.Username, HELO: s.HELO, Batch: s.Batch, Connections: s.Connections}
	if m.Host != "" || complete {
		if err := checkHost(m.Host); err != nil {
			l.errf("smtp.host", "%v", err)
		}
	}
	m.Security = l.security("smtp", s.Security, string(SecurityStartTLS), m.Host)
	// RFC 8314 §3.3: submission over implicit TLS on 465; RFC 6409: 587.
	m.Port = l.port("smtp", s.Port, m.Security, 465, 587)
	var usesPassword bool
	m.Auth, m.OAuth2, usesPassword = l.auth("smtp", s.Auth, s.OAuth2, s.Username, true)
	hasSecret := s.Password != "" || s.PasswordFile != ""
	switch {
	case !usesPassword && hasSecret:
		l.errf("smtp.password", "auth = \"oauth2\" logs in with a token: remove password and password_file")
	case !usesPassword:
		if s.Username == "" {
			l.errf("smtp.username", "auth = \"oauth2\" needs the username of the sending mailbox")
		}
	default:
		m.Password = l.secret("smtp", s.Password, s.PasswordFile, false)
		if s.Username == "" && hasSecret {
			l.errf("smtp.username", "a password is set but no username")
		}
		if s.Username != "" && !hasSecret {
			l.errf("smtp.password", "username %q needs password = \"${ENV_VAR}\" or password_file", s.Username)
		}
	}
	if s.From != "" || complete {
		if s.From == "" {
			l.errf("smtp.from", "required (e.g. \"Example Support <support@example.com>\")")
		} else if name, addr, err := parseNamedAddress(s.From); err != nil {
			l.errf("smtp.from", "%v", err)
		} else {
			m.From = helpdesk.Address{Name: name, Email: addr}
		}
	}
	m.Timeout = l.duration("smtp.timeout", s.Timeout, defaultSMTPTimeout)
	m.RetryMin = l.duration("smtp.retry_min", s.RetryMin, defaultSMTPRetryMin)
	m.RetryMax = l.duration("smtp.retry_max", s.RetryMax, defaultSMTPRetryMax)
	if m.RetryMin <= 0 {
		l.errf("smtp.retry_min", "%v: must be positive", m.RetryMin)
	} else if m.RetryMax < m.RetryMin {
		l.errf("smtp.retry_max", "%v: must be at least retry_min (%v)", m.RetryMax, m.RetryMin)
	}
	if s.HELO != "" && !validHostname(s.HELO) && !isAddressLiteral(s.HELO) {
		l.errf("smtp.helo", "%q is not a host name or address literal", s.HELO)
	}
	if s.Batch < 1 {
		l.errf("smtp.batch", "%d: must be at least 1", s.Batch)
	}
	if s.Connections < 1 || s.Connections > 16 {
		l.errf("smtp.connections", "%d: must be between 1 and 16", s.Connections)
	}
	if r, err := parseRate(string(s.Rate)); err != nil {
		l.errf("smtp.rate", "%v", err)
	} else {
		m.Rate = r
	}
	if s.DailyRecipients < 0 || s.DailyRecipients > maxDailyRecipients {
		l.errf("smtp.daily_recipients", "%d: must be between 0 (no limit) and %d", s.DailyRecipients, maxDailyRecipients)
	} else {
		m.DailyRecipients = s.DailyRecipients
	}
	c.SMTP = m
}

// isAddressLiteral accepts an RFC 5321 §4.1.3 address literal "[192.0.2.1]".
func isAddressLiteral(s string) bool {
	return strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") &&
		checkHost(strings.TrimPrefix(strings.TrimPrefix(s[1:len(s)-1], "IPv6:"), "ipv6:")) == nil
}

// duration parses a duration value; empty means def.
func (l *loader) duration(key string, t text, def string) time.Duration {
	s := string(t)
	if s == "" {
		s = def
	}
	d, err := parseDuration(s)
	if err != nil {
		l.errf(key, "%v", err)
	}
	return d
}

// envRE is the one form a password may take in the file.
var envRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secret checks and, as the options say, resolves a password given as
// password = "${VAR}" or password_file.
func (l *loader) secret(key, password, file string, required bool) Secret {
	return l.namedSecret(key, "password", password, file, required)
}

// namedSecret is secret for the keys NAME = "${VAR}" and NAME_file (the
// oauth2 table's client_secret, key).
func (l *loader) namedSecret(key, name, password, file string, required bool) Secret {
	var s Secret
	switch {
	case password != "" && file != "":
		l.errf(key+"."+name+"_file", "set %s or %s_file, not both", name, name)
		return s
	case password != "":
		m := envRE.FindStringSubmatch(password)
		if m == nil {
			// Never echo the value: it may be a real password.
			l.errf(key+"."+name, "a literal %s is not allowed in the file; write %s = \"${ENV_VAR}\" or use %s_file", strings.ReplaceAll(name, "_", " "), name, name)
			return s
		}
		s.Env = m[1]
	case strings.HasPrefix(file, CredentialPrefix):
		name_ := strings.TrimPrefix(file, CredentialPrefix)
		if name_ == "" || name_ == "." || name_ == ".." || strings.ContainsAny(name_, "/\x00") || len(name_) > 255 {
			l.errf(key+"."+name+"_file", "%q: a credential is %sNAME, NAME as in LoadCredential=NAME:/path (no '/')", file, CredentialPrefix)
			return s
		}
		s.Credential = name_
		if d := l.credentialsDir(); d != "" {
			s.File = filepath.Join(d, name_)
		}
	case file != "":
		s.File = l.abs(file)
	default:
		if required {
			l.errf(key+"."+name, "required: %s = \"${ENV_VAR}\" or %s_file = \"/run/secrets/...\"", name, name)
		}
		return s
	}
	if l.opts.Lint {
		return s // the form is right; the value lives on the production host
	}
	value, pkey, err := l.resolve(key, name, s)
	report := l.warnf
	if l.opts.ResolveSecrets {
		report = l.errf
	}
	if err != "" {
		report(pkey, "%s", err)
		return s
	}
	if l.opts.ResolveSecrets {
		s.Value = value
	}
	return s
}

// resolve reads a secret given by the keys NAME or NAME_file; err is a
// message for the key pkey.
func (l *loader) resolve(key, name string, s Secret) (value, pkey, err string) {
	fileKey := key + "." + name + "_file"
	if s.Env != "" {
		v, ok := l.opts.LookupEnv(s.Env)
		switch {
		case !ok:
			return "", key + "." + name, fmt.Sprintf("environment variable %s is not set", s.Env)
		case v == "":
			return "", key + "." + name, fmt.Sprintf("environment variable %s is empty", s.Env)
		}
		return v, "", ""
	}
	if s.Credential != "" && s.File == "" {
		return "", fileKey, fmt.Sprintf("%s%s: $%s is not set: run under systemd with LoadCredential=%s:/path/of/the/secret, or set %s to the directory holding the file %s",
			CredentialPrefix, s.Credential, CredentialsDirectoryEnv, s.Credential, CredentialsDirectoryEnv, s.Credential)
	}
	b, rerr := l.opts.ReadFile(s.File)
	if rerr != nil {
		if s.Credential != "" {
			return "", fileKey, fmt.Sprintf("cannot read credential %s: %v (does the unit have LoadCredential=%s:/path/of/the/secret?)", s.Credential, rerr, s.Credential)
		}
		return "", fileKey, fmt.Sprintf("cannot read %s file: %v", strings.ReplaceAll(name, "_", " "), rerr)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fileKey, fmt.Sprintf("%s file %s is empty", strings.ReplaceAll(name, "_", " "), s.File)
	}
	return v, "", ""
}

// auth reads the auth key and the oauth2 table of a mailbox or [smtp]
// (key); user is the account's username (the default subject). It
// reports whether a password is what the account logs in with.
func (l *loader) auth(key, auth string, ro *rawOAuth2, user string, smtp bool) (string, *OAuth2, bool) {
	switch strings.ToLower(auth) {
	case "", AuthPassword:
		if ro != nil {
			l.errf(key+".oauth2", "an oauth2 table is set but auth is %q; write auth = \"oauth2\" to use it", AuthPassword)
		}
		return AuthPassword, nil, true
	case AuthOAuth2:
	default:
		l.errf(key+".auth", "%q: want \"password\" or \"oauth2\"", auth)
		return auth, nil, false
	}
	ok := key + ".oauth2"
	if ro == nil {
		l.errf(key+".auth", "auth = \"oauth2\" needs an [%s.oauth2] table (provider = \"microsoft\", \"google\" or \"generic\")", strings.SplitN(key, "[", 2)[0])
		return AuthOAuth2, nil, false
	}
	o := &OAuth2{Provider: strings.ToLower(ro.Provider), Tenant: strings.TrimSpace(ro.Tenant), ClientID: strings.TrimSpace(ro.ClientID),
		Subject: strings.TrimSpace(ro.Subject), TokenURL: strings.TrimSpace(ro.TokenURL), Scopes: ro.Scopes}
	if user == "" && !smtp {
		l.errf(key+".username", "auth = \"oauth2\" needs the mailbox's username or address")
	}
	switch o.Flow = strings.ToLower(ro.Flow); o.Flow {
	case "":
		o.Flow = FlowClientCredentials
	case FlowClientCredentials:
	case FlowDevice:
		if o.Provider == ProviderGoogle {
			l.errf(ok+".flow", "Google's device flow cannot grant Gmail's scope; use a service account (key_file)")
		}
	default:
		l.errf(ok+".flow", "%q: want \"client_credentials\" or \"device\"", ro.Flow)
	}
	o.DeviceURL = strings.TrimSpace(ro.DeviceURL)
	if o.DeviceURL != "" {
		if o.Flow != FlowDevice {
			l.errf(ok+".device_url", "only used with flow = \"device\"")
		} else if u, err := url.Parse(o.DeviceURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			l.errf(ok+".device_url", "%q: want an https URL (http only to a loopback host)", o.DeviceURL)
		}
	} else if o.Flow == FlowDevice && o.Provider == ProviderGeneric {
		l.errf(ok+".device_url", "required with provider \"generic\" and flow = \"device\": the provider's device authorization endpoint")
	}
	clientCreds := func(required bool) {
		if o.ClientID == "" {
			l.errf(ok+".client_id", "required: the application (client) id of the app registration")
		}
		o.ClientSecret = l.namedSecret(ok, "client_secret", ro.ClientSecret, ro.ClientSecretFile, required)
	}
	notFor := func(k, v string) {
		if v != "" {
			l.errf(ok+"."+k, "not used with provider %q", o.Provider)
		}
	}
	switch o.Provider {
	case ProviderMicrosoft:
		if o.Tenant == "" && o.TokenURL == "" {
			l.errf(ok+".tenant", "required: the Microsoft Entra tenant id or domain (e.g. \"contoso.onmicrosoft.com\")")
		}
		clientCreds(o.Flow != FlowDevice) // a delegated client may be public
		notFor("key_file", ro.KeyFile)
		notFor("subject", ro.Subject)
	case ProviderGoogle:
		if ro.KeyFile == "" {
			l.errf(ok+".key_file", "required: the service account's JSON key (a file path or %sNAME)", CredentialPrefix)
		} else {
			o.KeyFile = l.namedSecret(ok, "key", "", ro.KeyFile, true)
		}
		if o.Subject == "" {
			o.Subject = user
		}
		notFor("tenant", ro.Tenant)
		notFor("client_id", ro.ClientID)
		notFor("client_secret", ro.ClientSecret)
		notFor("client_secret_file", ro.ClientSecretFile)
	case ProviderGeneric:
		if o.TokenURL == "" {
			l.errf(ok+".token_url", "required with provider \"generic\": the provider's token endpoint")
		}
		if len(o.Scopes) == 0 {
			l.errf(ok+".scopes", "required with provider \"generic\": the scopes IMAP and SMTP access need")
		}
		clientCreds(o.Flow != FlowDevice)
		notFor("tenant", ro.Tenant)
		notFor("key_file", ro.KeyFile)
		notFor("subject", ro.Subject)
	case "":
		l.errf(ok+".provider", "required: \"microsoft\", \"google\" or \"generic\"")
	default:
		l.errf(ok+".provider", "%q: want \"microsoft\", \"google\" or \"generic\"", ro.Provider)
	}
	if o.TokenURL != "" {
		u, err := url.Parse(o.TokenURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			l.errf(ok+".token_url", "%q: want an https URL (http only to a loopback host)", o.TokenURL)
		}
	}
	for i, sc := range o.Scopes {
		if strings.TrimSpace(sc) == "" || strings.ContainsAny(sc, " \t\r\n") {
			l.errf(fmt.Sprintf("%s.scopes[%d]", ok, i), "%q: a scope is one word", sc)
		}
	}
	switch m := strings.ToUpper(ro.Mechanism); {
	case m == "":
	case smtp:
		l.errf(ok+".mechanism", "SMTP always authenticates with XOAUTH2; mechanism is for a mailbox's IMAP login")
	case m == "XOAUTH2" || m == "OAUTHBEARER":
		o.Mechanism = m
	default:
		l.errf(ok+".mechanism", "%q: want \"XOAUTH2\" or \"OAUTHBEARER\" (or leave it out: whichever the server offers)", ro.Mechanism)
	}
	return AuthOAuth2, o, false
}

func (l *loader) sla(s rawSLA, c *Config) {
	c.SLA = SLA{Schedule: strings.TrimSpace(s.Schedule), DefaultPolicy: s.DefaultPolicy}
	if err := checkSchedule(c.SLA.Schedule); err != nil {
		l.errf("sla.schedule", "%v", err)
	}
	l.policyRef("sla.default_policy", s.DefaultPolicy, c)
}

// checkSchedule parses a cron spec with the standard parser and its
// descriptors ("@every 1m", "*/5 * * * *") and checks that it ever fires.
func checkSchedule(spec string) error {
	// robfig/cron v3.0.1 slices out of range on a TZ= prefix without a space.
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return fmt.Errorf("%q: a TZ= prefix must be followed by a space and the schedule", spec)
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("%q: %v (want e.g. \"@every 1m\" or \"* * * * *\")", spec, err)
	}
	if sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fmt.Errorf("%q never fires", spec)
	}
	return nil
}

// digest validates [digest]. It runs after the policies, agents and
// mailboxes: its default zone is the default policy's calendar's, its
// default recipients the managers, and no recipient may be a support
// mailbox (the digest would open a ticket).
func (l *loader) digest(d rawDigest, c *Config) {
	g := Digest{Schedule: strings.TrimSpace(d.Schedule), Location: time.UTC, Hour: 8}
	if p := c.Policies[c.SLA.DefaultPolicy]; p != nil && p.Calendar != nil && p.Calendar.Location() != nil {
		g.Location = p.Calendar.Location()
	}
	if d.TimeZone != "" {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil || d.TimeZone == "Local" {
			l.errf("digest.timezone", "%q: want an IANA time zone such as \"Europe/London\" or \"UTC\"", d.TimeZone)
		} else {
			g.Location = loc
		}
	}
	timed := g.Schedule == DigestDaily || g.Schedule == DigestWeekly
	switch {
	case timed:
	case g.Schedule == "":
		l.errf("digest.schedule", "empty: want \"daily\", \"weekly\" or a five-field cron spec such as \"0 8 * * 1-5\"")
	default:
		if err := checkDigestSpec(g.Schedule, g.Location); err != nil {
			l.errf("digest.schedule", "%v", err)
		}
	}
	at := d.At
	if at == "" {
		at = defaultDigestAt
	} else if !timed {
		l.errf("digest.at", "applies to schedule = \"daily\" or \"weekly\"; a cron spec carries its own time")
	}
	if hm, err := time.Parse("15:04", at); err != nil || len(at) != 5 {
		l.errf("digest.at", "%q: want a time of day as HH:MM, e.g. \"08:00\"", d.At)
	} else {
		g.Hour, g.Minute = hm.Hour(), hm.Minute()
	}
	g.Weekday = time.Monday
	if d.Weekday != "" {
		if g.Schedule != DigestWeekly {
			l.errf("digest.weekday", "applies to schedule = \"weekly\" only")
		}
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d.Weekday))]
		if !ok {
			l.errf("digest.weekday", "%q: want a day of the week, e.g. \"monday\"", d.Weekday)
		}
		g.Weekday = wd
	}
	ours := map[string]bool{}
	for _, m := range c.Mailboxes {
		for _, a := range m.Addresses() {
			ours[a] = true
		}
	}
	for i, s := range d.To {
		key := fmt.Sprintf("digest.to[%d]", i)
		a, err := parseBareAddress(strings.TrimSpace(s))
		switch {
		case err != nil:
			l.errf(key, "%q is not a mail address", s)
		case ours[a]:
			l.errf(key, "%s is a support mailbox: the digest would open a ticket", a)
		case slices.Contains(g.To, a):
			l.errf(key, "%s is listed twice", a)
		default:
			g.To = append(g.To, a)
		}
	}
	c.Digest = g
	hasRecipients := len(g.To) > 0 || len(c.Managers()) > 0
	switch {
	case d.Enabled == nil:
		c.Digest.Enabled = hasRecipients
	case *d.Enabled && !hasRecipients && len(d.To) == 0:
		l.errf("digest.enabled", "nobody to send the digest to: no manager (an [[agent]] with manager = true, or an address a policy escalates to) and no digest.to")
	default:
		c.Digest.Enabled = *d.Enabled
	}
}

// weekdays are the names digest.weekday takes.
var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// MinDigestInterval is the shortest time a digest's cron spec may leave
// between two digests: a digest is a summary, not an alert.
const MinDigestInterval = time.Hour

// checkDigestSpec checks a digest's cron spec: five fields or a
// descriptor, no time zone prefix (digest.timezone says the zone), firing
// at least once a year and never twice within MinDigestInterval.
func checkDigestSpec(spec string, loc *time.Location) error {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return fmt.Errorf("%q: give the zone as digest.timezone, not in the spec", spec)
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("%q: %v (want \"daily\", \"weekly\" or a cron spec such as \"0 8 * * 1-5\")", spec, err)
	}
	t := sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc))
	if t.IsZero() || t.After(time.Date(2027, 1, 2, 0, 0, 0, 0, loc)) {
		return fmt.Errorf("%q never fires, or less than once a year", spec)
	}
	for range 200 {
		n := sched.Next(t)
		if n.Sub(t) < MinDigestInterval {
			return fmt.Errorf("%q fires %s apart; a digest may come at most once an hour", spec, n.Sub(t))
		}
		t = n
	}
	return nil
}

func (l *loader) http(h rawHTTP, c *Config) {
	c.HTTP.Listen = strings.TrimSpace(h.Listen)
	if c.HTTP.Listen != "" {
		if err := checkListen(c.HTTP.Listen); err != nil {
			l.errf("http.listen", "%v", err)
		}
	}
	c.HTTP.Board = h.Board
	c.HTTP.BoardListen = strings.TrimSpace(h.BoardListen)
	if c.HTTP.BoardListen == "" {
		c.HTTP.BoardListen = DefaultBoardListen
	}
	if err := checkListen(c.HTTP.BoardListen); err != nil {
		l.errf("http.board_listen", "%v", err)
	}
	c.HTTP.BoardURL = strings.TrimRight(strings.TrimSpace(h.BoardURL), "/")
	if c.HTTP.BoardURL == "" {
		c.HTTP.BoardURL = "http://" + c.HTTP.BoardListen + "/board"
	} else if u, err := url.Parse(c.HTTP.BoardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.errf("http.board_url", "%q: want an http or https URL without a query, e.g. \"https://desk.example.com/board\"", h.BoardURL)
	}
	if c.HTTP.Board && c.HTTP.BoardListen == c.HTTP.Listen {
		l.errf("http.board_listen", "%q is also http.listen: the board needs a listener of its own", c.HTTP.BoardListen)
	}
}

func (l *loader) log(lg rawLog, c *Config) {
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	lv, ok := levels[strings.ToLower(lg.Level)]
	if !ok {
		l.errf("log.level", "%q: want debug, info, warn or error", lg.Level)
	}
	c.Log.Level = lv
	c.Log.Format = strings.ToLower(lg.Format)
	if c.Log.Format != "text" && c.Log.Format != "json" {
		l.errf("log.format", "%q: want text or json", lg.Format)
	}
}

func (l *loader) desk(d rawDesk, c *Config) {
	k := Desk{
		Name:            strings.TrimSpace(d.Name),
		ReopenWindow:    l.duration("desk.reopen_window", d.ReopenWindow, defaultReopenWindow),
		AutoReplyLimit:  d.AutoReplyLimit,
		AutoReplyWindow: l.duration("desk.auto_reply_window", d.AutoReplyWindow, defaultAutoReplyWindow),
		EscalateKeyword: strings.TrimSpace(d.EscalateKeyword),
		ShutdownTimeout: l.duration("desk.shutdown_timeout", d.ShutdownTimeout, defaultShutdownTimeout),
	}
	if k.Name == "" {
		k.Name = c.SMTP.From.Name
	}
	size := string(d.MaxAttachmentSize)
	if size == "" {
		size = defaultMaxAttachment
	}
	n, err := parseSize(size)
	if err != nil {
		l.errf("desk.max_attachment_size", "%v", err)
	}
	k.MaxAttachmentSize = n
	if d.AutoReplyLimit < 1 {
		l.errf("desk.auto_reply_limit", "%d: must be at least 1", d.AutoReplyLimit)
	}
	for i, id := range d.TrustedAuthServIDs {
		id = strings.TrimSpace(id)
		if id == "" || strings.ContainsAny(id, " \t;") {
			l.errf(fmt.Sprintf("desk.trusted_authserv_ids[%d]", i), "%q is not an authserv-id (RFC 8601 §2.5, e.g. \"mx.example.com\"); for results without one (Microsoft 365) set trust_unnamed_results = true", id)
			continue
		}
		k.Trust.AuthServIDs = append(k.Trust.AuthServIDs, strings.ToLower(id))
	}
	if d.TrustUnnamed {
		k.Trust.AuthServIDs = append(k.Trust.AuthServIDs, "")
	}
	k.Trust.Hops, k.Trust.Below = d.ReceivedHops, d.ResultsBelow
	if d.TrustUnnamed && d.ResultsBelow > 0 {
		l.errf("desk.results_below_boundary", "must be 0 with trust_unnamed_results: a field without an authserv-id below the boundary may be anybody's (Microsoft 365 writes its results above it)")
	}
	if d.ResultsBelow < 0 || d.ResultsBelow > 20 {
		l.errf("desk.results_below_boundary", "%d: must be from 0 to 20 (the Authentication-Results fields our servers write just below the boundary Received: field, one per milter)", d.ResultsBelow)
	}
	if d.ReceivedHops < 1 || d.ReceivedHops > 50 {
		l.errf("desk.received_hops", "%d: must be from 1 to 50 (the Received: fields our own servers add, counting the one that takes mail from the outside)", d.ReceivedHops)
	}
	for i, h := range d.BoundaryHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, err := path.Match(h, ""); err != nil || h == "" || strings.ContainsAny(h, " \t;") {
			l.errf(fmt.Sprintf("desk.boundary_hosts[%d]", i), "%q is not a host name pattern (e.g. \"*.mail.protection.outlook.com\")", h)
			continue
		}
		k.Trust.BoundaryHosts = append(k.Trust.BoundaryHosts, h)
	}
	k.MaxCc = d.MaxCc
	if d.MaxCc < 1 || d.MaxCc > 100 {
		l.errf("desk.max_cc", "%d: must be from 1 to 100", d.MaxCc)
	}
	if d.TemplatesDir != "" {
		k.TemplatesDir = l.abs(d.TemplatesDir)
		creds := l.credentialsDir()
		switch {
		case l.opts.Lint:
			// A file of the production host.
		case !filepath.IsAbs(d.TemplatesDir) && creds != "" && l.dir == creds:
			l.errf("desk.templates_dir", "%q is relative to the configuration, which is a systemd credential in %s: give an absolute directory the service can read, e.g. /usr/local/share/helpdeskd/templates", d.TemplatesDir, creds)
		default:
			l.checkTemplatesDir(k.TemplatesDir)
		}
	}
	c.Desk = k
}

// checkTemplatesDir checks that the template overrides' directory exists.
func (l *loader) checkTemplatesDir(dir string) {
	if fi, err := os.Stat(dir); err != nil {
		l.errf("desk.templates_dir", "%v", err)
	} else if !fi.IsDir() {
		l.errf("desk.templates_dir", "%s is not a directory", dir)
	}
}

// --- [[mailbox]] and [[customer]] ---------------------------------------------

func (l *loader) mailboxes(list []rawMailbox, c *Config, complete bool) {
	if complete && len(list) == 0 {
		l.errf("mailbox", "at least one [[mailbox]] is required")
	}
	c.byMailbox = map[string]int{}
	addrs := map[string]string{} // address -> key that claims it
	claim := func(key, addr string) {
		if other, dup := addrs[addr]; dup {
			l.errf(key, "address %s is already used by %s", addr, other)
			return
		}
		addrs[addr] = key
	}
	for i, rm := range list {
		key := fmt.Sprintf("mailbox[%d]", i)
		m := Mailbox{
			Name: rm.Name, Host: strings.TrimSpace(rm.Host), Username: rm.Username,
			Folder: rm.Folder, Policy: rm.Policy, Team: rm.Team,
			IDLE: rm.IDLE == nil || *rm.IDLE, Processed: strings.ToLower(rm.Processed),
			ProcessedFlag: rm.ProcessedFlag, ProcessedFolder: rm.ProcessedFolder, QuarantineFolder: rm.QuarantineFolder,
			CriticalOnly: rm.CriticalOnly, QueuePolicy: rm.QueuePolicy,
			SentFolder: strings.TrimSpace(rm.SentFolder), IMAP4rev2: rm.IMAP4rev2,
		}
		switch j, dup := c.byMailbox[rm.Name]; {
		case rm.Name == "":
			l.errf(key+".name", "required")
		case !validName(rm.Name):
			l.errf(key+".name", "%q is not a usable name", rm.Name)
		case dup:
			l.errf(key+".name", "mailbox %q is already declared at mailbox[%d]", rm.Name, j)
		default:
			c.byMailbox[rm.Name] = i
		}
		if rm.Address == "" {
			l.errf(key+".address", "required")
		} else if a, err := parseBareAddress(rm.Address); err != nil {
			l.errf(key+".address", "%v", err)
		} else {
			m.Address = a
			claim(key+".address", a)
		}
		for j, s := range rm.Aliases {
			akey := fmt.Sprintf("%s.aliases[%d]", key, j)
			if a, err := parseBareAddress(s); err != nil {
				l.errf(akey, "%v", err)
			} else {
				m.Aliases = append(m.Aliases, a)
				claim(akey, a)
			}
		}
		if err := checkHost(m.Host); err != nil {
			l.errf(key+".host", "%v", err)
		}
		m.Security = l.security(key, rm.Security, string(SecurityTLS), m.Host)
		// RFC 8314 §3.3: IMAP over implicit TLS on 993; RFC 9051: 143.
		m.Port = l.port(key, rm.Port, m.Security, 993, 143)
		if m.Username == "" {
			m.Username = m.Address
		}
		var usesPassword bool
		m.Auth, m.OAuth2, usesPassword = l.auth(key, rm.Auth, rm.OAuth2, m.Username, false)
		if usesPassword {
			m.Password = l.secret(key, rm.Password, rm.PasswordFile, true)
		} else if rm.Password != "" || rm.PasswordFile != "" {
			l.errf(key+".password", "auth = \"oauth2\" logs in with a token: remove password and password_file")
		}
		if m.Folder == "" {
			m.Folder = defaultFolder
		}
		if m.Policy == "" {
			m.Policy = c.SLA.DefaultPolicy
		} else {
			l.policyRef(key+".policy", m.Policy, c)
		}
		if m.Team != "" && !c.hasTeam(m.Team) {
			l.errf(key+".team", "team %q is not defined (declare a [[team]] or name it on an agent)", m.Team)
		}
		if rm.DefaultPriority != "" {
			m.DefaultPriority, _ = l.level(key+".default_priority", rm.DefaultPriority, c)
		}
		m.PollInterval = l.duration(key+".poll_interval", rm.PollInterval, defaultPollInterval)
		switch m.Processed {
		case "":
			m.Processed = ProcessedFlag
		case ProcessedFlag, ProcessedMove:
		default:
			l.errf(key+".processed", "%q: want \"flag\" or \"move\"", rm.Processed)
		}
		if m.ProcessedFlag == "" {
			m.ProcessedFlag = defaultProcessedFlag
		} else if !validKeyword(m.ProcessedFlag) {
			l.errf(key+".processed_flag", "%q is not an IMAP keyword (an atom such as \"$Processed\", or \\Seen)", m.ProcessedFlag)
		}
		if m.ProcessedFolder == "" {
			m.ProcessedFolder = defaultProcessedFolder
		}
		if m.QuarantineFolder == "" {
			m.QuarantineFolder = defaultQuarantine
		}
		size := string(rm.MaxMessageSize)
		if size == "" {
			size = defaultMaxMessage
		}
		if n, err := parseSize(size); err != nil {
			l.errf(key+".max_message_size", "%v", err)
		} else {
			m.MaxMessageSize = n
		}
		for _, f := range []struct{ k, v string }{{"folder", m.Folder}, {"processed_folder", m.ProcessedFolder}, {"quarantine_folder", m.QuarantineFolder}} {
			if !validName(f.v) {
				l.errf(key+"."+f.k, "%q is not a usable folder name", f.v)
			}
		}
		if m.Processed == ProcessedMove && strings.EqualFold(m.ProcessedFolder, m.Folder) {
			l.errf(key+".processed_folder", "must differ from folder %q, or processed mail would be read again", m.Folder)
		}
		if strings.EqualFold(m.QuarantineFolder, m.Folder) {
			l.errf(key+".quarantine_folder", "must differ from folder %q", m.Folder)
		}
		l.sentFolder(key, m, c)
		switch {
		case m.CriticalOnly && m.QueuePolicy == "":
			l.errf(key+".queue_policy", "required when critical_only = true: the policy of the non-critical mail this mailbox queues")
		case !m.CriticalOnly && m.QueuePolicy != "":
			l.errf(key+".queue_policy", "has no effect unless critical_only = true")
		case m.QueuePolicy != "":
			l.policyRef(key+".queue_policy", m.QueuePolicy, c)
		}
		c.Mailboxes = append(c.Mailboxes, m)
	}
	for i, a := range c.Agents {
		if other, ok := addrs[a.Email]; ok && a.Email != "" {
			l.errf(fmt.Sprintf("agent[%d].email", i), "%s is a support address (%s); an agent needs their own address", a.Email, other)
		}
	}
	for i, t := range c.Teams {
		if other, ok := addrs[t.Address]; ok && t.Address != "" {
			l.errf(fmt.Sprintf("team[%d].address", i), "%s is a support address (%s); team notifications would loop", t.Address, other)
		}
	}
}

// sentFolder checks a mailbox's sent_folder and imap4rev2.
func (l *loader) sentFolder(key string, m Mailbox, c *Config) {
	switch f := m.SentFolder; {
	case f == "" || strings.EqualFold(f, SentFolderAuto):
	case !validName(f):
		l.errf(key+".sent_folder", "%q is not a usable folder name", f)
	case strings.EqualFold(f, m.Folder):
		l.errf(key+".sent_folder", "%q is the folder the desk reads (folder): the desk would take its own replies for new mail; name the server's Sent folder, or \"%s\" for the one marked \\Sent", f, SentFolderAuto)
	case strings.EqualFold(f, m.QuarantineFolder):
		l.errf(key+".sent_folder", "%q is the quarantine folder: name the server's Sent folder", f)
	}
	if m.SentFolder != "" && (helpdesk.MicrosoftHost(c.SMTP.Host) || isGoogleSMTP(c.SMTP.Host)) {
		l.warnf(key+".sent_folder", "[smtp] host %s keeps a copy of what is sent through it in the Sent folder itself: sent_folder adds a second one", c.SMTP.Host)
	}
	if m.IMAP4rev2 && helpdesk.MicrosoftHost(m.Host) {
		l.errf(key+".imap4rev2", "Microsoft 365 (%s) lists IMAP4rev2 but its IMAP4rev2 misbehaves: remove imap4rev2 (the default false speaks IMAP4rev1)", m.Host)
	}
}

// isGoogleSMTP reports whether host is Gmail's submission server, which
// files what is sent through it in the account's Sent Mail.
func isGoogleSMTP(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	return h == "smtp.gmail.com" || h == "smtp-relay.gmail.com" || h == "smtp.googlemail.com"
}

func (l *loader) customers(list []rawCustomer, c *Config) {
	c.byAddress, c.byDomain = map[string]int{}, map[string]int{}
	plans := map[string]bool{}
	for _, p := range c.Policies {
		for _, r := range p.Rules {
			plans[r.Plan] = true
		}
	}
	for i, rc := range list {
		key := fmt.Sprintf("customer[%d]", i)
		cu := Customer{Plan: strings.TrimSpace(rc.Plan), Policy: rc.Policy, Name: strings.TrimSpace(rc.Name)}
		if len(rc.Match) == 0 {
			l.errf(key+".match", "required: a list of domains (\"example.com\") or addresses (\"a@example.com\")")
		}
		for j, s := range rc.Match {
			mkey := fmt.Sprintf("%s.match[%d]", key, j)
			s = strings.ToLower(strings.TrimSpace(s))
			var index map[string]int
			if strings.Contains(s, "@") {
				a, err := parseBareAddress(s)
				if err != nil {
					l.errf(mkey, "%v", err)
					continue
				}
				s, index = a, c.byAddress
			} else {
				if strings.HasPrefix(s, "*.") {
					l.errf(mkey, "%q: wildcards are not supported; subdomains do not match, list each domain", s)
					continue
				}
				if !validHostname(s) {
					l.errf(mkey, "%q is neither a domain nor a mail address", s)
					continue
				}
				s, index = strings.TrimSuffix(s, "."), c.byDomain
			}
			if other, dup := index[s]; dup {
				l.errf(mkey, "%s is already matched by customer[%d]", s, other)
				continue
			}
			index[s] = len(c.Customers)
			cu.Match = append(cu.Match, s)
		}
		if cu.Plan != "" && !validName(cu.Plan) {
			l.errf(key+".plan", "%q is not a usable plan name", rc.Plan)
		} else if cu.Plan != "" && !plans[cu.Plan] {
			l.warnf(key+".plan", "no policy has a target for plan %q; this customer gets the plan-less targets", cu.Plan)
		}
		if cu.Policy != "" {
			l.policyRef(key+".policy", cu.Policy, c)
		}
		c.Customers = append(c.Customers, cu)
	}
}

// crossChecks looks for settings that are each valid but do not work
// together.
func (l *loader) crossChecks(c *Config, complete bool) {
	if !complete {
		return
	}
	if len(c.Agents) == 0 {
		l.warnf("agent", "no [[agent]]: nobody is notified of tickets or can answer them")
	}
	hasManager := slices.ContainsFunc(c.Agents, func(a Agent) bool { return a.Manager })
	ours := map[string]bool{}
	for _, m := range c.Mailboxes {
		for _, a := range m.Addresses() {
			ours[a] = true
		}
	}
	var toManagers []string
	for _, name := range slices.Sorted(maps.Keys(c.Policies)) {
		p := c.Policies[name]
		recipients := slices.Clone(p.EscalateTo)
		for _, st := range p.Ladder {
			recipients = append(recipients, st.Notify...)
		}
		if slices.Contains(recipients, "managers") {
			toManagers = append(toManagers, name)
		}
		for _, r := range recipients {
			if ours[r] {
				key := l.policyKey[name]
				if key == "" {
					key = "policy"
				}
				l.errf(key, "policy %q notifies %s, a support mailbox: escalations would open tickets", name, r)
				break
			}
		}
	}
	if len(toManagers) > 0 && !hasManager && len(c.Agents) > 0 {
		l.warnf("agent", "no agent has manager = true, but policies %s escalate to \"managers\"", strings.Join(toManagers, ", "))
	}
}
