package packertemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// jnode is a JSON value with the byte offset where it starts.
type jnode struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	off   int
	str   string // string value or number literal
	b     bool
	keys  []string // object keys in order
	koffs []int    // object key offsets
	vals  []*jnode // object values, or array elements
}

func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

type jparser struct {
	data []byte
	dec  *json.Decoder
	file string
}

func (p *jparser) skip(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *jparser) pos(off int) Pos {
	if off > len(p.data) {
		off = len(p.data)
	}
	line := 1 + bytes.Count(p.data[:off], []byte{'\n'})
	start := bytes.LastIndexByte(p.data[:off], '\n') + 1
	return Pos{File: p.file, Line: line, Col: utf8.RuneCount(p.data[start:off]) + 1}
}

func (p *jparser) errAt(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Pos: p.pos(int(se.Offset)), Msg: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Pos: p.pos(len(p.data)), Msg: "invalid JSON: unexpected end of input"}
	}
	return &Error{Pos: p.pos(int(p.dec.InputOffset())), Msg: "invalid JSON: " + err.Error()}
}

func (p *jparser) value() (*jnode, error) {
	off := p.skip(int(p.dec.InputOffset()))
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.errAt(err)
	}
	n := &jnode{off: off}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = 'o'
			for p.dec.More() {
				koff := p.skip(int(p.dec.InputOffset()))
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.errAt(err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &Error{Pos: p.pos(koff), Msg: "invalid JSON: object key must be a string"}
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				n.keys, n.koffs, n.vals = append(n.keys, key), append(n.koffs, koff), append(n.vals, v)
			}
		case '[':
			n.kind = 'a'
			for p.dec.More() {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		default:
			return nil, &Error{Pos: p.pos(off), Msg: fmt.Sprintf("invalid JSON: unexpected %q", t)}
		}
		if _, err := p.dec.Token(); err != nil { // closing delimiter
			return nil, p.errAt(err)
		}
	case string:
		n.kind, n.str = 's', t
	case json.Number:
		n.kind, n.str = 'n', t.String()
	case bool:
		n.kind, n.b = 'b', t
	case nil:
		n.kind = 'z'
	}
	return n, nil
}

func parseJSONTree(file string, data []byte) (*jnode, error) {
	p := &jparser{data: data, file: file, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	root, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		if err == nil {
			return nil, &Error{Pos: p.pos(p.skip(int(p.dec.InputOffset()))), Msg: "invalid JSON: data after the top-level value"}
		}
		return nil, p.errAt(err)
	}
	return root, nil
}

// legacyLoader reads a legacy JSON template.
type legacyLoader struct {
	p     *jparser
	opts  Options
	vars  map[string]string
	known map[string]bool
	notes []Note
}

var actionRe = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
var userRe = regexp.MustCompile("^user\\s+(?:`([^`]*)`|\"([^\"]*)\")$")
var envRe = regexp.MustCompile("^env\\s+(?:`([^`]*)`|\"([^\"]*)\")$")

// interpolate resolves {{user `x`}} (and, in variables, {{env `X`}}).
// Other template functions make the value unknown; reasons lists them.
func (l *legacyLoader) interpolate(s string, inVariables bool) (out string, known bool, refs, reasons []string) {
	known = true
	out = actionRe.ReplaceAllStringFunc(s, func(m string) string {
		body := actionRe.FindStringSubmatch(m)[1]
		if u := userRe.FindStringSubmatch(body); u != nil {
			name := u[1] + u[2]
			refs = append(refs, "var."+name)
			if v, ok := l.vars[name]; ok && l.known[name] {
				return v
			}
			known = false
			if _, ok := l.vars[name]; ok {
				reasons = append(reasons, "var."+name+" (no value; set by -var at build time)")
			} else {
				reasons = append(reasons, "undeclared var."+name)
			}
			return m
		}
		if e := envRe.FindStringSubmatch(body); e != nil && inVariables && l.opts.Env != nil {
			if v, ok := l.opts.envReader()(e[1] + e[2]); ok {
				return v
			}
		}
		known = false
		reasons = append(reasons, m)
		return m
	})
	return out, known, refs, reasons
}

func loadLegacy(path string, opts Options) (*Template, error) {
	var r reader
	data, err := r.read(path)
	if err != nil {
		return nil, err
	}
	p := &jparser{file: path, data: data}
	root, err := parseJSONTree(path, data)
	if err != nil {
		return nil, err
	}
	if root.kind != 'o' {
		return nil, &Error{Pos: p.pos(root.off), Msg: "a legacy JSON template must be an object"}
	}
	l := &legacyLoader{p: p, opts: opts, vars: map[string]string{}, known: map[string]bool{}}
	t := &Template{}

	// Variables: values may use {{env}} and {{user}} of other variables.
	vars := root.get("variables")
	if vars != nil && vars.kind != 'o' {
		return nil, &Error{Pos: p.pos(vars.off), Msg: "\"variables\" must be an object"}
	}
	pending := map[string]*jnode{}
	if vars != nil {
		for i, k := range vars.keys {
			v := vars.vals[i]
			switch v.kind {
			case 'z':
				l.vars[k] = ""
			case 's':
				l.vars[k] = ""
				pending[k] = v
			case 'n':
				l.vars[k], l.known[k] = v.str, true
			case 'b':
				l.vars[k], l.known[k] = fmt.Sprint(v.b), true
			default:
				return nil, &Error{Pos: p.pos(v.off), Msg: fmt.Sprintf("variable %q must be a string", k)}
			}
		}
	}
	for name, val := range opts.Vars {
		l.vars[name], l.known[name] = val, true
		delete(pending, name)
	}
	for round := 0; round <= len(pending) && len(pending) > 0; round++ {
		for _, k := range sortedKeys(pending) {
			s, known, _, _ := l.interpolate(pending[k].str, true)
			if known {
				l.vars[k], l.known[k] = s, true
				delete(pending, k)
			}
		}
	}

	builders := root.get("builders")
	if builders == nil || builders.kind != 'a' {
		pos := p.pos(root.off)
		if builders != nil {
			pos = p.pos(builders.off)
		}
		return nil, &Error{Pos: pos, Msg: "a legacy JSON template needs a \"builders\" array"}
	}
	for _, b := range builders.vals {
		if b.kind != 'o' {
			return nil, &Error{Pos: p.pos(b.off), Msg: "each builder must be an object"}
		}
		tn := b.get("type")
		if tn == nil || tn.kind != 's' {
			return nil, &Error{Pos: p.pos(b.off), Msg: "builder has no \"type\""}
		}
		name := tn.str
		if nn := b.get("name"); nn != nil && nn.kind == 's' {
			name = nn.str
		}
		if !isAmazonBuilder(tn.str) {
			l.notes = append(l.notes, Note{Pos: p.pos(b.off), Message: fmt.Sprintf("builder %s: %q is not an Amazon builder: ignored", name, tn.str)})
			continue
		}
		owner := "builder " + name
		src := Source{Type: tn.str, Name: name, Pos: p.pos(b.off), Options: map[string]Value{}}
		for i, k := range b.keys {
			if k == "type" || k == "name" {
				continue
			}
			if v, ok := l.convert(k, b.vals[i], b.koffs[i], owner); ok {
				src.Options[k] = v
			}
		}
		t.Sources = append(t.Sources, src)
	}

	if pps := root.get("post-processors"); pps != nil && pps.kind == 'a' {
		for _, pp := range pps.vals {
			list := []*jnode{pp}
			if pp.kind == 'a' {
				list = pp.vals
			}
			for _, e := range list {
				l.postProcessor(e, t)
			}
		}
	}
	t.Notes = l.notes
	return t, nil
}

func (l *legacyLoader) postProcessor(e *jnode, t *Template) {
	var typ string
	switch e.kind {
	case 's':
		typ = e.str
	case 'o':
		if tn := e.get("type"); tn != nil && tn.kind == 's' {
			typ = tn.str
		}
	}
	if !strings.HasPrefix(typ, "amazon-") {
		return
	}
	src := Source{Type: typ, Name: typ, Pos: l.p.pos(e.off), Options: map[string]Value{}}
	if e.kind == 'o' {
		for i, k := range e.keys {
			if k == "type" {
				continue
			}
			if v, ok := l.convert(k, e.vals[i], e.koffs[i], "post-processor "+typ); ok {
				src.Options[k] = v
			}
		}
	}
	t.PostProcessors = append(t.PostProcessors, src)
}

// convert turns a builder option into a Value; ok is false for null.
func (l *legacyLoader) convert(name string, n *jnode, keyOff int, owner string) (Value, bool) {
	v := Value{Known: true, Pos: l.p.pos(keyOff)}
	var refs, reasons []string
	scalar := func(e *jnode) string {
		switch e.kind {
		case 's':
			s, known, r, why := l.interpolate(e.str, false)
			refs, reasons = append(refs, r...), append(reasons, why...)
			if !known {
				v.Known = false
			}
			return s
		case 'n':
			return e.str
		case 'b':
			return fmt.Sprint(e.b)
		default:
			b, _ := json.Marshal(l.plain(e))
			return string(b)
		}
	}
	switch {
	case n.kind == 'z':
		return v, false
	case knownBlocks[name] && (n.kind == 'o' || (n.kind == 'a' && allObjects(n.vals))):
		elems := []*jnode{n}
		if n.kind == 'a' {
			elems = n.vals
		}
		v.Blocks = []map[string]Value{}
		for _, e := range elems {
			m := map[string]Value{}
			for i, k := range e.keys {
				if nv, ok := l.convert(k, e.vals[i], e.koffs[i], owner); ok {
					m[k] = nv
					if !nv.Known {
						v.Known = false
					}
					refs = append(refs, nv.Refs...)
				}
			}
			v.Blocks = append(v.Blocks, m)
		}
		v.Refs = sortedUnique(refs)
		return v, true
	case n.kind == 'a':
		v.List = make([]string, 0, len(n.vals))
		for _, e := range n.vals {
			if e.kind == 'z' {
				continue
			}
			v.List = append(v.List, scalar(e))
		}
	case n.kind == 'o':
		v.Map = map[string]string{}
		for i, k := range n.keys {
			if n.vals[i].kind == 'z' {
				continue
			}
			v.Map[k] = scalar(n.vals[i])
		}
	default:
		v.String = scalar(n)
	}
	v.Refs = sortedUnique(refs)
	if !v.Known {
		v.String, v.List, v.Map = "", nil, nil
		l.notes = append(l.notes, Note{Pos: v.Pos, Message: fmt.Sprintf("%s: %s depends on %s: treated conservatively", owner, name, strings.Join(sortedUnique(reasons), ", "))})
	}
	return v, true
}

func (l *legacyLoader) plain(e *jnode) any {
	switch e.kind {
	case 's':
		s, _, _, _ := l.interpolate(e.str, false)
		return s
	case 'n':
		return json.Number(e.str)
	case 'b':
		return e.b
	case 'a':
		out := []any{}
		for _, x := range e.vals {
			out = append(out, l.plain(x))
		}
		return out
	case 'o':
		out := map[string]any{}
		for i, k := range e.keys {
			out[k] = l.plain(e.vals[i])
		}
		return out
	}
	return nil
}

func allObjects(ns []*jnode) bool {
	for _, n := range ns {
		if n.kind != 'o' {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
