package message

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"slices"
	"strings"
	"testing"
)

// stdDecodeQP reads body through mime/quotedprintable as go-message does.
func stdDecodeQP(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(quotedprintable.NewReader(bytes.NewReader(body)))
	return buf.Bytes(), err
}

// compareQP compares mimeDecodeQP with mime/quotedprintable on body.
func compareQP(t testing.TB, body []byte) {
	got, gotErr := mimeDecodeQP(body)
	want, wantErr := stdDecodeQP(body)
	if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("mimeDecodeQP(%q) = %q, %v; quotedprintable gives %q, %v", corpusClip(string(body)), corpusClip(string(got)), gotErr, corpusClip(string(want)), wantErr)
	}
	if errors.Is(wantErr, io.EOF) {
		t.Fatal("io.EOF leaked")
	}
}

// TestMimeDecodeQPMatchesQuotedPrintable compares the quoted-printable
// decoder with mime/quotedprintable on generated bodies made of the bytes
// and sequences that steer it, with lines around its buffer size.
func TestMimeDecodeQPMatchesQuotedPrintable(t *testing.T) {
	atoms := []string{"=", "=\r\n", "=\n", "= \r\n", "=\t\n", "= x\n", "=3D", "=3d", "=C3=A9", "=G1", "=4", "=\r", "\r\n", "\n", "\r",
		" ", "\t", " \r\n", "\t\n", "a", "Hello world", "~", "\x7f", "\x01", "\x00", "\xc3\xa9", "\xff", "=\x80", "=="}
	r := rand.New(rand.NewPCG(1, 2))
	for range 30000 {
		var b bytes.Buffer
		for range r.IntN(24) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		compareQP(t, b.Bytes())
	}
	for _, n := range []int{4094, 4095, 4096, 4097, 8191, 8192, 9000} {
		for _, tail := range []string{"", "\n", "\r\n", "=", "=\r\n", " ", "  \n", "abc\n"} {
			for _, fill := range []string{"a", "=3D", " "} {
				body := []byte(strings.Repeat(fill, n/len(fill)) + tail)
				compareQP(t, body)
				compareQP(t, append([]byte("first line\r\n"), body...))
				compareQP(t, append(slices.Clone(body), "\nlast=\n"...))
			}
		}
	}
}

// FuzzMimeDecodeQP compares the quoted-printable decoder with
// mime/quotedprintable.
func FuzzMimeDecodeQP(f *testing.F) {
	f.Add([]byte("Caf=C3=A9 =\r\nsoft break, a literal = sign, tab\t\r\n=3D\n"))
	f.Add([]byte("trailing soft break="))
	f.Add([]byte("bad =ZZ and = \r\n=\r \n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		compareQP(t, body)
	})
}
