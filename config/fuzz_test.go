package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad parses arbitrary bytes as a configuration. It must never panic,
// and must either return a usable Config or an *Error listing problems.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.toml")
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, examplePath, "builtin.toml")
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[smtp]\nport = = 1\n"))
	f.Add([]byte("[[smtp]]\n"))
	f.Add([]byte("a.b.c = [[1], {x = 2}]\n[[a.b]]\n"))
	f.Add([]byte("[sla]\nschedule = \"TZ=UTC\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz.toml", data, noSecrets)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if len(ce.Problems) == 0 {
				t.Fatal("*Error without problems")
			}
			return
		}
		if c == nil {
			t.Fatal("nil Config without error")
		}
		if c.Policies[c.SLA.DefaultPolicy] == nil {
			t.Fatalf("default policy %q not built", c.SLA.DefaultPolicy)
		}
		for _, m := range c.Mailboxes {
			if c.Policies[m.Policy] == nil {
				t.Fatalf("mailbox %s: policy %q not built", m.Name, m.Policy)
			}
		}
	})
}
