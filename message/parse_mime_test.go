package message

import (
	"strings"
	"testing"
	"time"
)

func TestSanitizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\evil.exe`, "evil.exe"},
		{"..", ""},
		{"...", ""},
		{".bashrc", "bashrc"},
		{"  spaced   name .txt ", "spaced name .txt"},
		{"a\x00b\x1fc\x7f.txt", "abc.txt"},
		{"invoice\u202efdp.exe", "invoicefdp.exe"},
		{`what?<>:"|*.txt`, "what_______.txt"},
		{"trailing.dots...", "trailing.dots"},
		{"nul", "_nul"},
		{"COM1.log", "_COM1.log"},
		{"\xff\xfe.txt", "ÿþ.txt"},
		{"", ""},
		{strings.Repeat("é", 150) + ".docx", strings.Repeat("é", 97) + ".docx"},
	}
	for _, tt := range tests {
		if got := sanitizeFilename(tt.in); got != tt.want {
			t.Errorf("sanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sanitizeFilename(tt.in); len(got) > maxFilenameBytes {
			t.Errorf("sanitizeFilename(%q) is %d bytes", tt.in, len(got))
		}
	}
}

func TestMIMESplit(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		parts         []string
		found, closed bool
	}{
		{"crlf", "pre\r\n--b\r\nA\r\n--b\r\nB\r\n--b--\r\nepi", []string{"A", "B"}, true, true},
		{"lf", "--b\nA\n--b\nB\n--b--\n", []string{"A", "B"}, true, true},
		{"mixed line ends", "--b\r\nA\n--b\nB\r\n--b--", []string{"A", "B"}, true, true},
		{"unterminated", "--b\nA\n--b\nB\nmore", []string{"A", "B\nmore"}, true, false},
		{"longer boundary is not ours", "--b\nA\n--bb\nstill A\n--b--", []string{"A\n--bb\nstill A"}, true, true},
		{"not at line start", "--b\nx --b\n--b--", []string{"x --b"}, true, true},
		{"transport padding", "--b  \nA\n--b--  \n", []string{"A"}, true, true},
		{"no delimiter", "just text", nil, false, false},
		{"empty part", "--b\n--b--", []string{""}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, found, closed := mimeSplit([]byte(tt.body), "b")
			if found != tt.found || closed != tt.closed {
				t.Errorf("found, closed = %v, %v; want %v, %v", found, closed, tt.found, tt.closed)
			}
			if len(parts) != len(tt.parts) {
				t.Fatalf("parts = %q, want %q", parts, tt.parts)
			}
			for i := range parts {
				if got := string(parts[i]); got != tt.parts[i] {
					t.Errorf("part %d = %q, want %q", i, got, tt.parts[i])
				}
			}
		})
	}
}

func TestMIMEMediaType(t *testing.T) {
	tests := []struct {
		in, mt, param, value string
		ok                   bool
	}{
		{`text/plain; charset="utf-8"`, "text/plain", "charset", "utf-8", true},
		{`multipart/mixed boundary="x y"`, "multipart/mixed", "boundary", "x y", false},
		{`multipart/mixed; boundary=abc; boundary=def`, "multipart/mixed", "boundary", "abc", false},
		{"application/pdf; name=r\xe9sum\xe9.pdf", "application/pdf", "name", "résumé.pdf", false},
		{`attachment; filename="=?UTF-8?Q?caf=C3=A9.txt?="`, "attachment", "filename", "café.txt", true},
		{`attachment; filename*=UTF-8''caf%C3%A9.txt`, "attachment", "filename", "café.txt", true},
		{`TEXT/HTML`, "text/html", "", "", true},
	}
	for _, tt := range tests {
		mt, params, ok := mimeMediaType(tt.in)
		if mt != tt.mt || ok != tt.ok {
			t.Errorf("mimeMediaType(%q) = %q, ok %v; want %q, %v", tt.in, mt, ok, tt.mt, tt.ok)
		}
		if tt.param != "" && parseValidUTF8(params[tt.param]) != tt.value {
			t.Errorf("mimeMediaType(%q)[%s] = %q, want %q", tt.in, tt.param, params[tt.param], tt.value)
		}
	}
}

func TestParseMsgIDs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<a@b>", "a@b"},
		{"<a@b> <c@d>\r\n <e@f>", "a@b c@d e@f"},
		{"<a@b><a@b>", "a@b"},
		{"junk <a@b> (comment) <c@\r\n d>", "a@b c@d"},
		{"bare@id.example, other@x", "bare@id.example other@x"},
		{"no ids here", ""},
		{"<<a@b>>", "a@b"},
		{"<unterminated@x", "unterminated@x"},
	}
	for _, tt := range tests {
		if got := strings.Join(parseMsgIDs(tt.in), " "); got != tt.want {
			t.Errorf("parseMsgIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2024, 3, 4, 9, 2, 0, 0, time.UTC)
	for _, in := range []string{
		"Mon, 4 Mar 2024 09:02:00 +0000",
		"Mon, 04 Mar 2024 09:02:00 GMT",
		"4 Mar 2024 09:02:00 +0000 (UTC)",
		"Mon,  4 Mar 2024 09:02:00 +0000 (Coordinated Universal Time)",
		"Mon, 4 Mar 2024 10:02:00 GMT+0100",
		"Mon Mar  4 09:02:00 2024",
		"2024-03-04 09:02:00 +0000",
		"Mon, 4 Mar 2024 09:02:00 +0000 +0000",
	} {
		got, ok := parseDate(in)
		if !ok || !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "someday", "32 Foo 2024"} {
		if _, ok := parseDate(in); ok {
			t.Errorf("parseDate(%q) succeeded", in)
		}
	}
}

func TestAddrParseList(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"Doe, Jane" <Jane.Doe@Example.COM>, bob@example.com`, "Doe, Jane <jane.doe@example.com>|bob@example.com"},
		{`=?UTF-8?Q?J=C3=BCrgen?= <j@example.de>`, "Jürgen <j@example.de>"},
		{`undisclosed-recipients:;`, ""},
		{`Team: a@example.com, b@example.com;`, "a@example.com|b@example.com"},
		{`broken <<x@example.com>`, "broken <x@example.com>"},
		{`x@example.com (Xavier)`, "Xavier <x@example.com>"},
		{`"unterminated <a@example.com>, b@example.com`, "unterminated <a@example.com>|b@example.com"},
		{`no address at all`, ""},
		{"Ren\xe9 <rene@example.fr>", "René <rene@example.fr>"},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range addrParseList(tt.in) {
			if a.Name != "" {
				got = append(got, a.Name+" <"+a.Email+">")
			} else {
				got = append(got, a.Email)
			}
		}
		if g := strings.Join(got, "|"); g != tt.want {
			t.Errorf("addrParseList(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
}

func TestMIMEUnflow(t *testing.T) {
	tests := []struct {
		name, in string
		delsp    bool
		want     string
	}{
		{"soft breaks joined", "This is a long \nparagraph that \nflows.\nNext line.", false, "This is a long paragraph that flows.\nNext line."},
		{"delsp", "Lang\nwort", false, "Lang\nwort"},
		{"delsp removes the space", "Zusammen \ngeschrieben", true, "Zusammengeschrieben"},
		{"signature separator is not flowed", "text\n-- \nsig", false, "text\n-- \nsig"},
		{"quotes", "> quoted \n> line\nanswer", false, "> quoted line\nanswer"},
		{"space stuffing", " From here\n >not a quote", false, "From here\n>not a quote"},
		{"depth change ends paragraph", "> a \n>> b\nc", false, "> a \n>> b\nc"},
	}
	for _, tt := range tests {
		if got := mimeUnflow(tt.in, tt.delsp); got != tt.want {
			t.Errorf("%s: mimeUnflow(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
