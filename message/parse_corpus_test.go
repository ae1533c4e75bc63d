package message

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/helpdeskd/helpdesk/internal/testenv"
)

// corpusDir is the shared real-mail corpus (testenv.CorpusDir). The tests
// that read it go through testenv.Corpus, CorpusManifest or ReadCorpus
// first, which skip them when it is not there.
var corpusDir, _ = testenv.CorpusDir()

// TestCorpusParse runs every message of the corpus through Parse: none may
// panic, each gives a Message or a ParseError naming a reason, and the
// Message keeps its invariants. Quarantines are counted per source.
func TestCorpusParse(t *testing.T) {
	entries := testenv.CorpusManifest(t)
	type tally struct{ total, parsed, quarantined, defective int }
	per := map[string]*tally{}
	var quarantined []string
	missing := 0
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(corpusDir, e.Path))
		if errors.Is(err, os.ErrNotExist) {
			// The manifest lists mikel-mail's .gitattributes, which the
			// corpus does not hold.
			t.Logf("%s: listed in the manifest but absent", e.Path)
			missing++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		in := slices.Clone(raw)
		ta := per[e.Source]
		if ta == nil {
			ta = &tally{}
			per[e.Source] = ta
		}
		ta.total++
		m, err := Parse(raw, ParseOptions{})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Errorf("%s: error %v is not a ParseError with a reason", e.Path, err)
				continue
			}
			if strings.HasPrefix(pe.Reason, errParserPanic) {
				t.Errorf("%s: parser panic: %v", e.Path, err)
			}
			ta.quarantined++
			quarantined = append(quarantined, e.Path+": "+pe.Reason)
			continue
		}
		ta.parsed++
		if len(m.Defects) > 0 {
			ta.defective++
		}
		if !slices.Equal(raw, in) {
			t.Errorf("%s: Parse modified its input", e.Path)
		}
		if string(m.Raw) != string(in) {
			t.Errorf("%s: Raw is not the input", e.Path)
		}
		if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<> \t\r\n") {
			t.Errorf("%s: bad MessageID %q", e.Path, m.MessageID)
		}
		for _, s := range []string{m.Subject, m.Text, m.NewText, m.From.Name} {
			if !utf8.ValidString(s) {
				t.Errorf("%s: invalid UTF-8 in %q", e.Path, corpusClip(s))
			}
		}
		if len(m.NewText) > len(m.Text) {
			t.Errorf("%s: NewText longer than Text", e.Path)
		}
		for _, a := range m.Attachments {
			if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\x00") || strings.HasPrefix(a.Filename, ".") {
				t.Errorf("%s: unsafe attachment name %q", e.Path, a.Filename)
			}
			if a.Data == nil && a.Dropped == "" {
				t.Errorf("%s: attachment %q has no data and no reason", e.Path, a.Filename)
			}
		}
	}
	sources := make([]string, 0, len(per))
	for s := range per {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	total, q := 0, 0
	for _, s := range sources {
		ta := per[s]
		total += ta.total
		q += ta.quarantined
		t.Logf("%-40s %4d messages: %4d parsed (%d with defects), %d quarantined", s, ta.total, ta.parsed, ta.defective, ta.quarantined)
	}
	for _, l := range quarantined {
		t.Logf("quarantined %s", l)
	}
	t.Logf("corpus: %d messages, %d parsed, %d quarantined", total, total-q, q)
	if total+missing != len(entries) || total < 500 || missing > 1 {
		t.Errorf("walked %d messages, manifest lists %d", total, len(entries))
	}
	// Only these may be quarantined, and only for these reasons: an empty
	// file, and two bodies without a single header field (a digest's
	// body, a one-line note), which have no sender to make a ticket for.
	want := map[string]string{
		"messages/mikel-mail/spec/fixtures/emails/sample_output_multipart": "empty message",
		"messages/jhillyerd-enmime/testdata/mail/erroneous.raw":            "no header fields: not an RFC 5322 message",
		"messages/cpython-test_email/data/msg_19.txt":                      "no header fields: not an RFC 5322 message",
	}
	for _, l := range quarantined {
		path, reason, _ := strings.Cut(l, ": ")
		if want[path] != reason {
			t.Errorf("quarantined %s (%s); want it parsed", path, reason)
		}
	}
}

func corpusClip(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}

// stalwartExpected is the part of stalwart's expected parse we compare.
type stalwartExpected struct {
	Attachments []int `json:"attachments"`
	Parts       []struct {
		Headers []struct {
			Name  json.RawMessage `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"headers"`
	} `json:"parts"`
}

// TestCorpusStalwartExpectations compares subject, sender and attachment
// count with stalwart-mail-parser's expected parses. Subject and From are
// compared wherever stalwart found them. The attachment count is
// stalwart's JMAP notion (RFC 8621 §4.1.4: every part that is not a body
// part, so a text part after the first body part counts too); ours keeps
// inline text and multipart/report parts as body, so the count is checked
// only where the semantics agree and the rate is reported.
func TestCorpusStalwartExpectations(t *testing.T) {
	entries := testenv.CorpusManifest(t)
	var subjOK, subjN, fromOK, fromN, attOK, attN int
	for _, e := range entries {
		if e.Source != "stalwart-mail-parser" || e.Expected == "" {
			continue
		}
		var exp stalwartExpected
		if err := json.Unmarshal(testenv.ReadCorpus(t, e.Expected), &exp); err != nil {
			t.Fatalf("%s: %v", e.Expected, err)
		}
		m, err := Parse(testenv.ReadCorpus(t, e.Path), ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", e.Path, err)
			continue
		}
		if len(exp.Parts) > 0 {
			for _, h := range exp.Parts[0].Headers {
				var name string
				_ = json.Unmarshal(h.Name, &name) // non-standard names are objects
				switch name {
				case "subject":
					var v struct{ Text string }
					if json.Unmarshal(h.Value, &v) == nil && v.Text != "" {
						subjN++
						if m.Subject == strings.TrimSpace(v.Text) {
							subjOK++
						} else {
							t.Logf("%s: subject %q, stalwart %q", e.Path, m.Subject, v.Text)
						}
					}
				case "from":
					var v struct {
						Address struct {
							List []struct {
								Address *string `json:"address"`
							}
						}
					}
					if json.Unmarshal(h.Value, &v) == nil && len(v.Address.List) > 0 && v.Address.List[0].Address != nil &&
						strings.Contains(*v.Address.List[0].Address, "@") {
						fromN++
						if m.From.Email == strings.ToLower(*v.Address.List[0].Address) {
							fromOK++
						} else {
							t.Logf("%s: from %q, stalwart %q", e.Path, m.From.Email, *v.Address.List[0].Address)
						}
					}
				}
			}
		}
		if strings.Contains(e.Path, "/malformed/") {
			// Dovecot's malformed-MIME cases: stalwart counts the empty
			// text parts of broken nestings as attachments; we keep them
			// as (empty) body. Not comparable.
			continue
		}
		attN++
		if len(m.Attachments) == len(exp.Attachments) {
			attOK++
		} else {
			t.Logf("%s: %d attachments, stalwart %d", e.Path, len(m.Attachments), len(exp.Attachments))
		}
	}
	t.Logf("stalwart: subject %d/%d, from %d/%d, attachment count %d/%d", subjOK, subjN, fromOK, fromN, attOK, attN)
	if subjOK != subjN || fromOK != fromN {
		t.Errorf("subject %d/%d, from %d/%d: want all", subjOK, subjN, fromOK, fromN)
	}
	if attOK*100 < attN*70 {
		t.Errorf("attachment count agrees on %d/%d, want >= 70%%", attOK, attN)
	}
}
