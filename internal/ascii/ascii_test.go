package ascii

import (
	"strings"
	"testing"
)

func TestLower(t *testing.T) {
	for _, s := range []string{"", "abc", "ABC", "Ünïcode STAYS", "MiXeD 123 ÄÖ"} {
		got := Lower(s)
		if len(got) != len(s) {
			t.Errorf("Lower(%q) changed the length", s)
		}
		for i := 0; i < len(s); i++ {
			want := s[i]
			if 'A' <= want && want <= 'Z' {
				want += 'a' - 'A'
			}
			if got[i] != want {
				t.Errorf("Lower(%q)[%d] = %q, want %q", s, i, got[i], want)
			}
		}
	}
}

func TestFold(t *testing.T) {
	if !HasPrefixFold("HTTP/1.1 503", "http/") || HasPrefixFold("HT", "http") || HasPrefixFold("xhttp", "http") {
		t.Error("HasPrefixFold")
	}
	for _, tt := range []struct {
		s, sub string
	}{{"Hello <BODY>", "<body"}, {"no", "yes"}, {"", ""}, {"ÄBC abc", "abc"}} {
		if got, want := IndexFold(tt.s, tt.sub), strings.Index(strings.ToLower(tt.s), tt.sub); tt.s != "ÄBC abc" && got != want {
			t.Errorf("IndexFold(%q, %q) = %d, want %d", tt.s, tt.sub, got, want)
		}
	}
	if got := IndexFold("ÄBC abc", "abc"); got != 5 {
		t.Errorf("IndexFold over UTF-8 = %d, want the byte offset 5", got)
	}
}
