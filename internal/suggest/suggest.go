// Package suggest finds the known name a mistyped one was meant to be, for
// "did you mean" hints in configuration and template errors.
package suggest

// Closest returns the candidate nearest to name when it is a likely typo:
// at most two single-character edits away (Levenshtein). It returns "" when
// none is that close; of equally close ones, the first in candidates wins.
func Closest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := Distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance of a and b, counted in bytes. Names
// longer than 64 bytes count as 64 apart: hints are for short names.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
