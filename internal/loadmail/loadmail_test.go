package loadmail

import (
	"strings"
	"testing"
)

func TestShapes(t *testing.T) {
	for n := 0; n < Shapes; n++ {
		body := string(Body(n, "t"))
		if size := len(body); size < 5000 || size > 20000 {
			t.Errorf("shape %d: %d bytes, want a typical 5-20 KB mail", n, size)
		}
		if strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
			t.Errorf("shape %d: a line ends without CR", n)
		}
		if Subject(n) == "" || Subject(n) != Subject(n+Shapes) || Subject(-n) == "" {
			t.Errorf("shape %d: subject %q", n, Subject(n))
		}
	}
}
