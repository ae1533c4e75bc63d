package triage_test

import (
	"strconv"
	"strings"
	"testing"
)

func TestExpConf(t *testing.T) {
	dev := loadCorpus(t, false)
	order := []string{"critical", "high", "medium", "low", "change"}
	conf := map[string]map[string]int{}
	for _, o := range order {
		conf[o] = map[string]int{}
	}
	for _, w := range corpusWriters(dev) {
		var train []corpusMail
		for _, m := range dev {
			if !strings.HasPrefix(m.name, w+"/") {
				train = append(train, m)
			}
		}
		tr, _ := rubricOnly(t).WithModelFile(trainOn(t, train))
		n, ex := 0, 0
		for _, m := range dev {
			if !strings.HasPrefix(m.name, w+"/") {
				continue
			}
			a := tr.Assess(corpusInput(t, m))
			got := string(a.Priority)
			conf[m.Priority][got]++
			n++
			if got == m.Priority {
				ex++
			} else if testing.Verbose() && *corpusMisses {
				t.Logf("MISS %s (%s) got %s want %s: %s", m.name, m.Policy, got, m.Priority, strings.Join(a.Reasons, " | "))
			}
		}
		t.Logf("%s: %d/%d %.1f", w, ex, n, 100*float64(ex)/float64(n))
	}
	for _, o := range order {
		row := ""
		for _, g := range order {
			row += " " + itoa(conf[o][g])
		}
		t.Logf("%-9s%s", o, row)
	}
}

func itoa(i int) string {
	s := "    " + strings.TrimSpace(strings.Repeat(" ", 0)) + func() string { return fmtInt(i) }()
	return s[len(s)-4:]
}

func fmtInt(i int) string { return strconvItoa(i) }
var strconvItoa = strconv.Itoa
