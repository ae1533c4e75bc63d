package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdesk/internal/suggest"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decode fills raw from data. It reports every key of the wrong TOML type
// and every unknown key, each with its line. A key-value of the wrong type
// is blanked out and the document decoded again without it, so that the
// rest of the file is still validated; problems about blanked keys are then
// suppressed. ok is false when the document cannot be decoded at all (a
// syntax error, or a table header of the wrong type).
func (l *loader) decode(data []byte, raw *rawFile) (ok bool) {
	l.pos = indexPositions(data)
	if bad := l.typecheck(); len(bad) > 0 {
		clean := bytes.Clone(data)
		for _, p := range bad {
			r, ok := l.pos.expr[p]
			if !ok {
				return false // a table header: nothing sensible to decode
			}
			for i := int(r.Offset); i < int(r.Offset+r.Length) && i < len(clean); i++ {
				if clean[i] != '\n' && clean[i] != '\r' {
					clean[i] = ' '
				}
			}
			l.suppressed = append(l.suppressed, p)
		}
		data = clean
	}
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(raw)
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &strict):
		for i := range strict.Errors {
			e := &strict.Errors[i]
			ln, _ := e.Position()
			key, found := l.pos.find(ln, e.Key())
			if !found {
				key = strings.Join(e.Key(), ".")
			}
			l.errs = append(l.errs, Problem{File: l.file, Line: ln, Key: key, Msg: unknownKey(strings.Split(stripIndexes(key), "."))})
		}
		return true
	case errors.As(err, &de):
		if len(l.suppressed) > 0 {
			// Blanking left a document the decoder still rejects; the type
			// errors already say what to fix.
			return false
		}
		ln, _ := de.Position()
		key, found := l.pos.find(ln, de.Key())
		if !found {
			key = strings.Join(de.Key(), ".")
		}
		l.errs = append(l.errs, Problem{File: l.file, Line: ln, Key: key, Msg: strings.TrimPrefix(de.Error(), "toml: ")})
		return false
	default:
		l.errs = append(l.errs, Problem{File: l.file, Msg: err.Error()})
		return false
	}
}

// typecheck compares the TOML type of every known key with the Go type it
// decodes into, so that all type errors are reported together (the decoder
// stops at the first). It returns the paths of the wrong values. Unknown
// keys are left to the decoder's strict mode.
func (l *loader) typecheck() (bad []string) {
	paths := make([]string, 0, len(l.pos.kind))
	for p := range l.pos.kind {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	isBad := map[string]bool{}
	types := map[string]reflect.Type{} // by path with its indexes emptied: "mailbox[].aliases[]"
	for _, p := range paths {
		if underBad(isBad, p) {
			continue // one complaint per wrong value
		}
		shape := emptyIndexes(p)
		t, ok := types[shape]
		if !ok {
			t = typeAt(reflect.TypeFor[rawFile](), shape)
			types[shape] = t
		}
		if t == nil {
			continue
		}
		if want, ok := accepts(t, l.pos.kind[p]); !ok {
			isBad[p] = true
			bad = append(bad, p)
			l.errs = append(l.errs, Problem{File: l.file, Line: l.pos.line[p], Key: p,
				Msg: fmt.Sprintf("want %s, not %s", want, kindName(l.pos.kind[p]))})
		}
	}
	return bad
}

// emptyIndexes turns "a[0].b[12]" into "a[].b[]".
func emptyIndexes(path string) string {
	var b strings.Builder
	in := false
	for _, r := range path {
		switch {
		case r == '[':
			in = true
			b.WriteRune(r)
		case r == ']':
			in = false
			b.WriteRune(r)
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func underBad(bad map[string]bool, p string) bool {
	for q := parent(p); q != ""; q = parent(q) {
		if bad[q] {
			return true
		}
	}
	return false
}

var textType = reflect.TypeFor[text]()

// accepts reports whether a TOML value of kind k decodes into t, and what t
// wants in words.
func accepts(t reflect.Type, k unstable.Kind) (want string, ok bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == textType {
		return "a string or number", k == unstable.String || k == unstable.Integer || k == unstable.Float || k == unstable.Bool
	}
	switch t.Kind() {
	case reflect.String:
		return "a string", k == unstable.String
	case reflect.Int, reflect.Int64:
		return "a whole number", k == unstable.Integer
	case reflect.Bool:
		return "true or false", k == unstable.Bool
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables ([[...]])", k == unstable.ArrayTable || k == unstable.Array
		}
		return "a list, e.g. [\"a\", \"b\"]", k == unstable.Array
	case reflect.Struct, reflect.Map:
		return "a table", k == unstable.Table || k == unstable.InlineTable
	}
	return "", true
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "a list"
	case unstable.Table, unstable.InlineTable:
		return "a table"
	case unstable.ArrayTable:
		return "an array of tables"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "a date or time (quote it)"
	}
	return "a " + strings.ToLower(k.String())
}

// typeAt returns the Go type the key path decodes into, or nil if the path
// names no field.
func typeAt(t reflect.Type, path string) reflect.Type {
	for path != "" {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			if end < 0 || (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) {
				return nil
			}
			if _, err := strconv.Atoi(path[1:end]); err != nil && end > 1 {
				return nil
			}
			t, path = t.Elem(), strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		end := strings.IndexAny(path, ".[")
		name := path
		if end >= 0 {
			name, path = path[:end], strings.TrimPrefix(path[end:], ".")
		} else {
			path = ""
		}
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			t = t.Elem() // a key without its element index, as the decoder names it
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, name)
			if !ok {
				return nil
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// unknownKey words the complaint about a key the schema does not have, with
// the closest known key of the same table as a suggestion.
func unknownKey(key []string) string {
	if len(key) == 0 {
		return "unknown key"
	}
	name := key[len(key)-1]
	msg := fmt.Sprintf("unknown key %q", name)
	t := typeAt(reflect.TypeFor[rawFile](), strings.Join(key[:len(key)-1], "."))
	for t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return msg
	}
	var tags []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		tags = append(tags, tag)
	}
	if best := suggest.Closest(strings.ToLower(name), tags); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}
