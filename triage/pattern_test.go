package triage

import (
	"strings"
	"testing"
)

func words(d doc) string {
	var ws []string
	for _, t := range d.toks {
		ws = append(ws, t.w)
	}
	return strings.Join(ws, " ")
}

func TestTokenize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"We can't log in", "we cannot log in"},
		{"It isn't down, it's slow", "it is not down it is slow"},
		{"doesnt work, wont load", "does not work will not load"},
		{"Customers\u2019 orders", "customers orders"},
		{"No one can log-in", "nobody can log in"},
		{"It no longer works", "it nolonger works"},
		{"can not open", "cannot open"},
		{"The site slowed down", "the site slowed"},
		{"the drop-down list", "the dropdown list"},
		{"90% of users", "90 percent of users"},
		{"Version 3.8.2 on www.example.com", "version 3 8 2 on www example com"},
	} {
		d := tokenize(c.in)
		if got := words(d); got != c.want {
			t.Errorf("tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// every idiom's first word is announced by idiomFirst
	for k := range idioms {
		if !idiomFirst(k[0]) {
			t.Errorf("idiomFirst(%q) is false", k[0])
		}
	}
}

func TestClauses(t *testing.T) {
	d := tokenize("The site is down. Checkout works but payments fail\n\nSecond paragraph\n1. step one\nWrapped line that goes on and on past the short-line limit of the heuristic\ncontinues here.")
	clause := map[string]int{}
	for _, tk := range d.toks {
		if _, ok := clause[tk.w]; !ok {
			clause[tk.w] = int(tk.clause)
		}
	}
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"site", "down", true},
		{"down", "checkout", false},
		{"checkout", "payments", false}, // "but" starts a clause
		{"payments", "fail", true},
		{"fail", "second", false},    // blank line
		{"paragraph", "step", false}, // list item
		{"wrapped", "continues", true},
	} {
		if got := clause[c.a] == clause[c.b]; got != c.same {
			t.Errorf("%q and %q in the same clause: %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestPatternCompile(t *testing.T) {
	for _, c := range []struct{ src, err string }{
		{"site * down", ""},
		{"(site|web shop) (is)? down", ""},
		{"crash*", ""},
		{"# of (our|the) users", ""},
		{"can't log in", ""},
		{"", "empty phrase"},
		{"(site|shop", "unclosed"},
		{"* down", "must start with a word"},
		{"(the)? site", "must start with a word"},
		{"site *", "must end with a word"},
		{"cr*", "shorter than 3"},
		{"(a|(b|c))", "no groups or gaps inside a group"},
		{"(a * b|c)", "no groups or gaps inside a group"},
		{"(a||b)", "empty alternative"},
		{"site. down", "spans two sentences"},
	} {
		_, err := compilePattern(c.src)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("compile %q: %v", c.src, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("compile %q: error %v, want %q", c.src, err, c.err)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	for _, c := range []struct {
		pat, text string
		want      string // matched source text, "" for no match
	}{
		{"site * down", "The site is completely down today", "site is completely down"},
		{"site * down", "The site is very very very slow and down", ""}, // gap of five
		{"site * down", "The site works. Down the road", ""},            // two sentences
		{"(site|web shop) down", "our web shop down", "web shop down"},
		{"crash*", "it crashes", "crashes"},
		{"crash*", "crush", ""},
		{"down", "the download", ""},
		{"site (is)? down", "site down", "site down"},
		{"site (is)? down", "site is down", "site is down"},
		{"# of (our|the) users", "about 15 of our users", "15 of our users"},
		{"# of (our|the) users", "many of our users", ""},
		{"cannot log in", "We can't log in", "can't log in"},
		{"nobody can", "No one can", "No one can"},
	} {
		var m matcher
		if err := m.add(0, []string{c.pat}); err != nil {
			t.Fatal(err)
		}
		v := vocab{}
		m.intern(v)
		m.build(v)
		d := tokenize(c.text)
		v.ids(&d)
		hits := m.find(&d)
		got := ""
		if len(hits) > 0 {
			got = d.quote(hits[0].start, hits[0].end)
		}
		if got != c.want {
			t.Errorf("%q in %q: %q, want %q", c.pat, c.text, got, c.want)
		}
	}
}

func TestNegationWindow(t *testing.T) {
	tr, err := New(Rules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text, phrase string
		negated      bool
	}{
		{"The site is not down", "site is not down", true},                      // negation in the gap
		{"There is no data loss", "data loss", true},                            // just before
		{"No, data loss happened", "data loss", false},                          // a comma ends the reach
		{"Not that it matters much: the data loss is real", "data loss", false}, // too far
		{"The site is not responding for any visitor", "any visitor", false},    // "not" belongs to "not responding"
		{"If the site goes down, who is told?", "site goes down", true},
	} {
		an := tr.analyse(Input{Text: c.text})
		found := false
		for _, h := range an.hits {
			if an.d.quote(h.start, h.end) == c.phrase {
				found = true
				if h.negated != c.negated {
					t.Errorf("%q: %q negated %v, want %v", c.text, c.phrase, h.negated, c.negated)
				}
			}
		}
		if !found {
			t.Errorf("%q: no hit %q", c.text, c.phrase)
		}
	}
}
