package triage_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/triage"
)

// TestLabellerAgreement measures how far two people agree where a second
// labeller, who saw only the policies and the brief and not the first
// labels, labelled a set again (labels2.json beside labels.json): the
// ceiling any triage can be measured against with one person's labels.
// It logs, per set, the two labellers' agreement and triage's agreement
// with each; it gates nothing.
func TestLabellerAgreement(t *testing.T) {
	sets, err := filepath.Glob(filepath.Join("testdata", "*", "*", "labels2.json"))
	if err != nil || len(sets) == 0 {
		t.Skip("no set has a second labeller's labels2.json")
	}
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, second := range sets {
		dir := filepath.Dir(second)
		first := readLabels(t, filepath.Join(dir, "labels.json"))
		other := readLabels(t, second)
		var names []string
		for name := range first {
			if _, ok := other[name]; ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		set := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
		var mails []corpusMail
		for _, name := range names {
			mails = append(mails, corpusMail{dir: filepath.Base(filepath.Dir(dir)), name: filepath.Base(dir) + "/" + name, corpusLabel: first[name]})
		}
		var agree agreement
		for i, m := range mails {
			a := tr.Assess(corpusInput(t, m))
			agree.add(first[names[i]], other[names[i]], a)
		}
		t.Logf("%s, %d mails labelled twice:\n%s", set, len(names), agree.String())
	}
}

// agreement counts, over mails labelled twice, where the labellers agree
// with each other and where triage agrees with each.
type agreement struct {
	mails                    int
	level, levelA, levelB    int            // same priority: A and B, triage and A, triage and B
	critA, critB             int            // criticals by A, by B
	critBoth                 int            // criticals by both
	critTriageA, critTriageB int            // A's (B's) criticals triage ranked critical
	field, fieldA, fieldB    map[string]int // same field present or absent
}

func (g *agreement) add(a, b corpusLabel, got helpdesk.Assessment) {
	if g.field == nil {
		g.field, g.fieldA, g.fieldB = map[string]int{}, map[string]int{}, map[string]int{}
	}
	g.mails++
	p := string(got.Priority)
	count := func(n *int, ok bool) {
		if ok {
			*n++
		}
	}
	count(&g.level, a.Priority == b.Priority)
	count(&g.levelA, p == a.Priority)
	count(&g.levelB, p == b.Priority)
	crit := string(helpdesk.Critical)
	count(&g.critA, a.Priority == crit)
	count(&g.critB, b.Priority == crit)
	count(&g.critBoth, a.Priority == crit && b.Priority == crit)
	count(&g.critTriageA, a.Priority == crit && p == crit)
	count(&g.critTriageB, b.Priority == crit && p == crit)
	for _, f := range helpdesk.FieldNames {
		inA, inB := slices.Contains(a.Fields, f), slices.Contains(b.Fields, f)
		found := strings.TrimSpace(got.Fields.Get(f)) != ""
		for _, c := range []struct {
			m  map[string]int
			ok bool
		}{{g.field, inA == inB}, {g.fieldA, found == inA}, {g.fieldB, found == inB}} {
			if c.ok {
				c.m[f]++
			}
		}
	}
}

func (g *agreement) String() string {
	pct := func(n, of int) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(max(of, 1))) }
	var b strings.Builder
	fmt.Fprintf(&b, "\tpriority: labellers agree %s; triage agrees with the writer %s, with the second labeller %s\n",
		pct(g.level, g.mails), pct(g.levelA, g.mails), pct(g.levelB, g.mails))
	fmt.Fprintf(&b, "\tcriticals: writer %d, second labeller %d, both %d; triage ranks critical %s of the writer's, %s of the second labeller's\n",
		g.critA, g.critB, g.critBoth, pct(g.critTriageA, g.critA), pct(g.critTriageB, g.critB))
	for _, f := range helpdesk.FieldNames {
		fmt.Fprintf(&b, "\t%s: labellers agree %s; triage agrees with the writer %s, with the second labeller %s\n",
			f, pct(g.field[f], g.mails), pct(g.fieldA[f], g.mails), pct(g.fieldB[f], g.mails))
	}
	return b.String()
}
