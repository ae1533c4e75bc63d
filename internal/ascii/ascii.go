// Package ascii lower-cases and compares text by its ASCII letters only,
// keeping every byte offset, for the parser's and triage's hot paths:
// strings.ToLower would change the length of some UTF-8 text and allocate.
package ascii

// lower maps each byte to itself, ASCII capitals to their small letters.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// LowerByte returns c with an ASCII capital turned into its small letter.
func LowerByte(c byte) byte { return lower[c] }

// Lower lower-cases the ASCII letters of s; every other byte, and so every
// byte offset, stays. It allocates only when s has a capital.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for k := i; k < len(b); k++ {
				b[k] = lower[b[k]]
			}
			return string(b)
		}
	}
	return s
}

// HasPrefixFold reports whether s, its ASCII letters lower-cased, starts
// with prefix, which must be lower case.
func HasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower[s[i]] != prefix[i] {
			return false
		}
	}
	return true
}

// IndexFold is strings.Index with ASCII case folding; sub must be lower
// case. Its offsets are offsets into s.
func IndexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if HasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}
