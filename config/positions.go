package config

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps every key path of a TOML document to the line it is
// written on, so that a problem found after decoding can name its line. Key
// paths join keys with dots and give the element of an array (of tables or
// of values) as [i]: "mailbox[0].policy", "calendar[1].closed[2]".
type positions struct {
	line   map[string]int            // key path -> line of its first definition
	kind   map[string]unstable.Kind  // key path -> what its first definition is: Table, ArrayTable or a value kind
	byLine map[int][]string          // line -> key paths defined on it
	nl     []int                     // offsets of the newlines, for offset -> line
	expr   map[string]unstable.Range // key path -> the key-value expression that defines it (not for table headers)
	cur    unstable.Range            // the key-value expression being indexed; zero for table headers
	arrays map[string]int            // array-of-tables path -> elements so far
	seen   map[string]struct{}       // paths of arrays of tables
}

// indexPositions walks the document with go-toml's parser. It stops at the
// first syntax error; the decoder reports that error itself.
func indexPositions(data []byte) *positions {
	ps := &positions{
		line:   map[string]int{},
		kind:   map[string]unstable.Kind{},
		expr:   map[string]unstable.Range{},
		byLine: map[int][]string{},
		arrays: map[string]int{},
		seen:   map[string]struct{}{},
	}
	for i, c := range data {
		if c == '\n' {
			ps.nl = append(ps.nl, i)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		ps.cur = unstable.Range{}
		switch e.Kind {
		case unstable.Table:
			parts, first := keyParts(e.Key())
			table = ps.resolve("", parts, ps.lineOf(first), unstable.Table)
		case unstable.ArrayTable:
			parts, first := keyParts(e.Key())
			if len(parts) == 0 {
				continue
			}
			ln := ps.lineOf(first)
			parent := ps.resolve("", parts[:len(parts)-1], ln, unstable.Table)
			base := join(parent, parts[len(parts)-1])
			ps.seen[base] = struct{}{}
			ps.record(base, ln, unstable.ArrayTable)
			n := ps.arrays[base]
			ps.arrays[base] = n + 1
			table = base + "[" + strconv.Itoa(n) + "]"
			ps.record(table, ln, unstable.Table)
		case unstable.KeyValue:
			ps.cur = e.Raw
			ps.keyValue(table, e)
		}
	}
	return ps
}

// keyValue records a key-value node under prefix, and what its value holds.
func (ps *positions) keyValue(prefix string, kv *unstable.Node) {
	value := kv.Value()
	if !value.Valid() {
		return
	}
	parts, first := keyParts(kv.Key())
	if len(parts) == 0 {
		return
	}
	ln := ps.lineOf(first)
	path := ps.resolve(prefix, parts, ln, value.Kind)
	ps.value(path, value, ln)
}

// value records the elements of arrays and the keys of inline tables.
func (ps *positions) value(path string, v *unstable.Node, ln int) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				ps.keyValue(path, n)
			}
		}
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			el := path + "[" + strconv.Itoa(i) + "]"
			eln := ps.firstLine(n, ln)
			ps.record(el, eln, n.Kind)
			ps.value(el, n, eln)
			i++
		}
	}
}

// firstLine is the line of the first byte of node n, or def when the parser
// kept no position for it (arrays).
func (ps *positions) firstLine(n *unstable.Node, def int) int {
	if n.Raw.Length > 0 {
		return ps.lineAt(int(n.Raw.Offset))
	}
	if c := n.Child(); c != nil && c.Valid() {
		if n.Kind == unstable.KeyValue {
			_, first := keyParts(n.Key())
			return ps.lineOf(first)
		}
		return ps.firstLine(c, def)
	}
	return def
}

// resolve extends prefix with the dotted key parts, entering the last
// element of any array of tables on the way, and records each step: the
// intermediate parts as tables, the last one as last.
func (ps *positions) resolve(prefix string, parts []string, ln int, last unstable.Kind) string {
	path := prefix
	for i, p := range parts {
		path = join(path, p)
		if _, ok := ps.seen[path]; ok {
			path += "[" + strconv.Itoa(ps.arrays[path]-1) + "]"
		}
		k := unstable.Table
		if i == len(parts)-1 {
			k = last
		}
		ps.record(path, ln, k)
	}
	return path
}

func (ps *positions) record(path string, ln int, k unstable.Kind) {
	if _, ok := ps.line[path]; ok {
		// A redefinition, which the decoder rejects: findable by its line.
		if !slices.Contains(ps.byLine[ln], path) {
			ps.byLine[ln] = append(ps.byLine[ln], path)
		}
		return
	}
	ps.line[path] = ln
	ps.kind[path] = k
	if ps.cur.Length > 0 {
		ps.expr[path] = ps.cur
	}
	ps.byLine[ln] = append(ps.byLine[ln], path)
}

// lineOf returns the line of a key node.
func (ps *positions) lineOf(n *unstable.Node) int {
	if n == nil {
		return 0
	}
	return ps.lineAt(int(n.Raw.Offset))
}

// lineAt converts a byte offset to a 1-based line number.
func (ps *positions) lineAt(off int) int {
	return sort.SearchInts(ps.nl, off) + 1
}

// lookup returns the line of path, or of its nearest recorded parent (the
// table a missing key belongs in). 0 means unknown.
func (ps *positions) lookup(path string) int {
	for path != "" {
		if ln, ok := ps.line[path]; ok {
			return ln
		}
		path = parent(path)
	}
	return 0
}

// has reports whether the document defines path.
func (ps *positions) has(path string) bool {
	_, ok := ps.line[path]
	return ok
}

// find returns the recorded path on line ln that spells key once element
// indexes are removed, for naming a decoder error precisely. The decoder
// names keys inside inline tables only partly, so failing an exact match,
// a path on the line with the same last key is taken.
func (ps *positions) find(ln int, key []string) (string, bool) {
	if len(key) == 0 {
		return "", false
	}
	want := strings.Join(key, ".")
	for _, p := range ps.byLine[ln] {
		if stripIndexes(p) == want {
			return p, true
		}
	}
	last := key[len(key)-1]
	for _, p := range ps.byLine[ln] {
		if s := stripIndexes(p); s == last || strings.HasSuffix(s, "."+last) {
			return p, true
		}
	}
	return "", false
}

// keyParts returns the parts of a key and its first node.
func keyParts(it unstable.Iterator) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	for it.Next() {
		n := it.Node()
		if first == nil {
			first = n
		}
		parts = append(parts, string(n.Data))
	}
	return parts, first
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// parent removes the last key or index from path.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// stripIndexes removes every [i] from path.
func stripIndexes(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}
