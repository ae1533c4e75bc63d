package board

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLinkBindsManagerAndExpiry: a link's MAC covers the address and the
// expiry under the manager's secret; changing any of the three changes it,
// and parseLink reads back what Link wrote and refuses what it did not.
func TestLinkBindsManagerAndExpiry(t *testing.T) {
	exp := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	link := Link("https://desk.example.com/board", "Maria@Example.com", exp, "secret-a")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	email, expiry, sig, err := parseLink(u.Query())
	if err != nil || email != "maria@example.com" || expiry != exp.Unix() || len(sig) != 32 {
		t.Fatalf("parseLink(%s) = %q, %d, %x, %v", link, email, expiry, sig, err)
	}
	base := sign("secret-a", "maria@example.com", exp.Unix())
	for name, other := range map[string]string{
		"secret":  sign("secret-b", "maria@example.com", exp.Unix()),
		"manager": sign("secret-a", "mario@example.com", exp.Unix()),
		"expiry":  sign("secret-a", "maria@example.com", exp.Unix()+1),
		// The separators keep "a"+"b1" from meaning "ab"+"1".
		"split": sign("secret-a", "maria@example.com"+"\x00"+"1", exp.Unix()),
	} {
		if other == base {
			t.Errorf("another %s gives the same MAC", name)
		}
	}
	if l := Link("https://desk.example.com/board?proxy=1", "maria@example.com", exp, "s"); !strings.Contains(l, "?proxy=1&") {
		t.Errorf("a base with a query: %s", l)
	}
	for name, q := range map[string]string{
		"none":            "",
		"no signature":    "m=maria%40example.com&x=1",
		"upper case":      "m=Maria%40example.com&x=1&s=" + strings.Repeat("0", 64),
		"twice":           "m=maria%40example.com&m=boss%40example.com&x=1&s=" + strings.Repeat("0", 64),
		"negative":        "m=maria%40example.com&x=-5&s=" + strings.Repeat("0", 64),
		"short MAC":       "m=maria%40example.com&x=1&s=00",
		"not hex":         "m=maria%40example.com&x=1&s=" + strings.Repeat("z", 64),
		"long address":    "m=" + strings.Repeat("a", 300) + "%40example.com&x=1&s=" + strings.Repeat("0", 64),
		"expiry in words": "m=maria%40example.com&x=tomorrow&s=" + strings.Repeat("0", 64),
	} {
		v, _ := url.ParseQuery(q)
		if _, _, _, err := parseLink(v); err == nil {
			t.Errorf("%s: parseLink accepted %q", name, q)
		}
	}
}
