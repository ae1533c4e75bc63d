package desk

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdesk"
)

func TestParseCommands(t *testing.T) {
	levels := helpdesk.DefaultLevels()
	tests := []struct {
		name, in  string
		want      []string // name=arg
		rest      string
		errSubstr string
	}{
		{"text only", "Hello, fixed now.\n\nThanks", nil, "Hello, fixed now.\n\nThanks", ""},
		{"commands then text", "#status pending\n#priority High\n\nCould you send the log?", []string{"status=pending", "priority=High"}, "Could you send the log?", ""},
		{"leading blank lines", "\n\n  #assign me\nOn it.", []string{"assign=me"}, "On it.", ""},
		{"commands only", "#status resolved\r\n#team second-line\r\n", []string{"status=resolved", "team=second-line"}, "", ""},
		{"hash later is text", "Fixed.\n#status closed", nil, "Fixed.\n#status closed", ""},
		{"number is not command", "#1 thing: restart", nil, "#1 thing: restart", ""},
		{"unknown command", "#stauts resolved\nDone", nil, "", "unknown command #stauts"},
		{"bad status", "#status done", nil, "", `"done" is not a status`},
		{"bad priority", "#priority urgent", nil, "", `"urgent" is not a priority level`},
		{"change is a level", "#priority change", []string{"priority=change"}, "", ""},
		{"assign needs value", "#assign", nil, "", "a value is missing"},
		{"bad cc", "#cc not-an-address", nil, "", "is not a mail address"},
		{"cc", "#cc Bob <bob@example.com>", []string{"cc=Bob <bob@example.com>"}, "", ""},
		{"escalate with reason", "#escalate customer threatens to cancel", []string{"escalate=customer threatens to cancel"}, "", ""},
		{"note", "#note\nInternal: looks like the DB", []string{"note="}, "Internal: looks like the DB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, rest, cerr := ParseCommands(tt.in, levels)
			if tt.errSubstr != "" {
				if cerr == nil || !strings.Contains(cerr.Problem, tt.errSubstr) {
					t.Fatalf("error = %v, want one containing %q", cerr, tt.errSubstr)
				}
				if cerr.Accepted == "" || cerr.Line == "" {
					t.Fatalf("error lacks line or accepted values: %+v", cerr)
				}
				return
			}
			if cerr != nil {
				t.Fatalf("unexpected error %v", cerr)
			}
			var got []string
			for _, c := range cmds {
				got = append(got, c.Name+"="+c.Arg)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("commands = %v, want %v", got, tt.want)
			}
			if rest != tt.rest {
				t.Fatalf("rest = %q, want %q", rest, tt.rest)
			}
		})
	}
}

func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{"#status open\nhi", "#note\nx", "#priority critical", "#cc a@b.c", "#", "#x", "\n#assign me\n\n#team a"} {
		f.Add(s)
	}
	levels := helpdesk.DefaultLevels()
	f.Fuzz(func(t *testing.T, in string) {
		cmds, rest, cerr := ParseCommands(in, levels)
		if cerr != nil && (len(cmds) > 0 || rest != "") {
			t.Fatalf("error with results: %v %q", cmds, rest)
		}
		if len(rest) > len(in) {
			t.Fatalf("rest longer than input")
		}
		for _, c := range cmds {
			if command(c.Name) == nil {
				t.Fatalf("unknown command accepted: %q", c.Name)
			}
		}
	})
}
