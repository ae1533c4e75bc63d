package templates

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"reflect"
	"text/template/parse"
)

// The static check. Rendering sample data only exercises the branches the
// samples take; a misspelt field inside {{if .Queued}} would still fail at
// night. So before rendering, every field reference in every branch is
// resolved against the type the template will see at that point: Data at
// the top, the element type inside {{range}}, the value's type inside
// {{with}}, the argument's type inside {{template}}. Where the type cannot
// be known (an interface, a variable of unknown type) the check is lenient
// and leaves the matter to the sample renders.

// The same walk records which fields of Data a template reads (pair.uses),
// so that the desk can render a mail once for many recipients when it does
// not read the fields that differ between them. Data itself used as a
// value (printed, passed to a function) counts as reading every field.

// wholeData is the key of pair.uses that stands for every field.
const wholeData = "."

// checkPair checks the field references of one mail's text and HTML
// templates and records in p.uses the fields of Data they read. txt and h
// name their files; the partials name theirs.
func checkPair(p *pair, txt, h source, textParts, htmlParts map[string]source) []error {
	root := reflect.TypeFor[*Data]()
	var errs []error
	p.uses = map[string]bool{}
	{
		c := newChecker(txt, textParts)
		c.uses = p.uses
		for _, t := range p.text.Templates() {
			c.trees[t.Name()] = t.Tree
		}
		c.template(p.text.Name(), root)
		if p.text.Lookup("subject") != nil {
			c.template("subject", root)
		}
		errs = append(errs, c.errs...)
	}
	if p.html != nil {
		c := newChecker(h, htmlParts)
		c.uses = p.uses
		for _, t := range p.html.Templates() {
			c.trees[t.Name()] = t.Tree
		}
		c.template(p.html.Name(), root)
		errs = append(errs, c.errs...)
	}
	return errs
}

type checker struct {
	trees map[string]*parse.Tree
	files map[string]string // parse name -> file
	seen  map[string]bool   // template name + dot type already checked
	fn    map[string]reflect.Type
	errs  []error
	uses  map[string]bool // fields of Data read (wholeData: all); nil: not recorded
}

// isData reports whether t is the type of the templates' root data.
func isData(t reflect.Type) bool {
	return t == reflect.TypeFor[*Data]() || t == reflect.TypeFor[Data]()
}

// use records that the template reads field of Data.
func (c *checker) use(field string) {
	if c.uses != nil {
		c.uses[field] = true
	}
}

func newChecker(main source, parts map[string]source) *checker {
	c := &checker{
		trees: map[string]*parse.Tree{},
		files: map[string]string{path.Base(filepath.ToSlash(main.file)): main.file},
		seen:  map[string]bool{},
		fn:    map[string]reflect.Type{},
	}
	for n, s := range parts {
		c.files[n] = s.file
	}
	for n, f := range funcs() {
		if t := reflect.TypeOf(f); t.NumOut() > 0 {
			c.fn[n] = t.Out(0)
		}
	}
	str, boolean, integer := reflect.TypeFor[string](), reflect.TypeFor[bool](), reflect.TypeFor[int]()
	for _, n := range []string{"print", "printf", "println", "html", "js", "urlquery"} {
		c.fn[n] = str
	}
	for _, n := range []string{"not", "eq", "ne", "lt", "le", "gt", "ge"} {
		c.fn[n] = boolean
	}
	c.fn["len"] = integer
	return c
}

// scope maps variable names to their types (nil: unknown).
type scope map[string]reflect.Type

func (c *checker) template(name string, dot reflect.Type) {
	tree := c.trees[name]
	if tree == nil || tree.Root == nil {
		return
	}
	key := name + "\x00"
	if dot != nil {
		key += dot.String()
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.list(tree, tree.Root, dot, scope{"$": dot})
}

func (c *checker) fail(tree *parse.Tree, n parse.Node, format string, args ...any) {
	loc, ctx := tree.ErrorContext(n)
	file := c.files[tree.ParseName]
	if file == "" {
		file = tree.ParseName
	}
	c.errs = append(c.errs, &FileError{File: file, Err: fmt.Errorf("template: %s: at <%s>: %s", loc, ctx, fmt.Sprintf(format, args...))})
}

func (c *checker) list(tree *parse.Tree, l *parse.ListNode, dot reflect.Type, vars scope) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(tree, n, dot, vars)
	}
}

func (c *checker) node(tree *parse.Tree, n parse.Node, dot reflect.Type, vars scope) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(tree, n.Pipe, dot, vars) // declarations live on in vars
	case *parse.IfNode:
		inner := maps.Clone(vars)
		c.pipe(tree, n.Pipe, dot, inner)
		c.list(tree, n.List, dot, inner)
		c.list(tree, n.ElseList, dot, maps.Clone(inner))
	case *parse.WithNode:
		inner := maps.Clone(vars)
		t := c.pipe(tree, n.Pipe, dot, inner)
		c.list(tree, n.List, t, inner)
		c.list(tree, n.ElseList, dot, maps.Clone(inner))
	case *parse.RangeNode:
		inner := maps.Clone(vars)
		t := c.pipeValue(tree, n.Pipe, dot, inner)
		key, elem := rangeTypes(t)
		switch len(n.Pipe.Decl) {
		case 1:
			inner[n.Pipe.Decl[0].Ident[0]] = elem
		case 2:
			inner[n.Pipe.Decl[0].Ident[0]] = key
			inner[n.Pipe.Decl[1].Ident[0]] = elem
		}
		c.list(tree, n.List, elem, inner)
		c.list(tree, n.ElseList, dot, maps.Clone(vars))
	case *parse.TemplateNode:
		var t reflect.Type
		if whole := passesWhole(n.Pipe); whole != nil {
			// {{template "x" .}} or {{template "x" $}}: the fields are
			// read, and recorded, inside "x".
			t = c.arg(tree, whole, dot, vars)
		} else if n.Pipe != nil {
			t = c.pipe(tree, n.Pipe, dot, maps.Clone(vars))
		}
		c.template(n.Name, t)
	case *parse.ListNode:
		c.list(tree, n, dot, vars)
	}
}

// pipe checks a pipeline, records its declarations in vars and returns the
// type of its value.
func (c *checker) pipe(tree *parse.Tree, p *parse.PipeNode, dot reflect.Type, vars scope) reflect.Type {
	t := c.pipeValue(tree, p, dot, vars)
	for _, v := range p.Decl {
		vars[v.Ident[0]] = t
	}
	return t
}

// pipeValue checks a pipeline and returns the type of its value without
// recording declarations.
func (c *checker) pipeValue(tree *parse.Tree, p *parse.PipeNode, dot reflect.Type, vars scope) reflect.Type {
	if p == nil {
		return nil
	}
	var t reflect.Type
	for _, cmd := range p.Cmds {
		t = c.command(tree, cmd, dot, vars)
	}
	return t
}

func (c *checker) command(tree *parse.Tree, cmd *parse.CommandNode, dot reflect.Type, vars scope) reflect.Type {
	if len(cmd.Args) == 0 {
		return nil
	}
	for _, a := range cmd.Args[1:] {
		if isData(c.arg(tree, a, dot, vars)) {
			c.use(wholeData) // the whole of Data handed to a function
		}
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		return c.fn[id.Ident] // nil for and, or, index, slice, call: unknown
	}
	t := c.arg(tree, cmd.Args[0], dot, vars)
	if isData(t) {
		c.use(wholeData) // the whole of Data printed or piped on
	}
	return t
}

// passesWhole returns the argument of a {{template}} pipeline that is just
// the dot or a variable ({{template "x" .}}), or nil.
func passesWhole(p *parse.PipeNode) parse.Node {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.DotNode:
		return a
	case *parse.VariableNode:
		if len(a.Ident) == 1 {
			return a
		}
	}
	return nil
}

func (c *checker) arg(tree *parse.Tree, n parse.Node, dot reflect.Type, vars scope) reflect.Type {
	switch n := n.(type) {
	case *parse.FieldNode:
		return c.field(tree, n, dot, n.Ident)
	case *parse.ChainNode:
		return c.field(tree, n, c.arg(tree, n.Node, dot, vars), n.Field)
	case *parse.VariableNode:
		return c.field(tree, n, vars[n.Ident[0]], n.Ident[1:])
	case *parse.DotNode:
		return dot
	case *parse.PipeNode:
		return c.pipeValue(tree, n, dot, maps.Clone(vars))
	case *parse.StringNode:
		return reflect.TypeFor[string]()
	case *parse.BoolNode:
		return reflect.TypeFor[bool]()
	case *parse.IdentifierNode:
		return c.fn[n.Ident]
	}
	return nil
}

// field resolves the chain names on t the way text/template does (a method
// first, then a struct field or a map element) and returns the resulting
// type, reporting the first name that cannot resolve.
func (c *checker) field(tree *parse.Tree, n parse.Node, t reflect.Type, names []string) reflect.Type {
	if len(names) > 0 && isData(t) {
		c.use(names[0])
	}
	for _, name := range names {
		if t == nil {
			return nil
		}
		mt := t
		if mt.Kind() != reflect.Pointer && mt.Kind() != reflect.Interface {
			mt = reflect.PointerTo(mt) // values reached through *Data are addressable
		}
		if m, ok := mt.MethodByName(name); ok {
			if m.Type.NumOut() == 0 {
				c.fail(tree, n, "method %s of %s returns nothing", name, t)
				return nil
			}
			t = m.Type.Out(0)
			continue
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := t.FieldByName(name)
			if !ok || !f.IsExported() {
				c.fail(tree, n, "can't evaluate field %s in type %s", name, t)
				return nil
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		case reflect.Interface:
			return nil
		default:
			c.fail(tree, n, "can't evaluate field %s in type %s", name, t)
			return nil
		}
	}
	return t
}

// rangeTypes returns the key and element types {{range}} yields over t.
func rangeTypes(t reflect.Type) (key, elem reflect.Type) {
	if t == nil {
		return nil, nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return reflect.TypeFor[int](), t.Elem()
	case reflect.Map:
		return t.Key(), t.Elem()
	case reflect.Chan:
		return t.Elem(), t.Elem()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return t, t
	}
	return nil, nil
}
