package packertemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/buildrole/buildrole/internal/jsonpos"
)

// legacyLoader reads a legacy JSON template as Packer does. Packer decodes
// one with encoding/json into maps: of a key written twice in one object
// only the last occurrence counts, and so it is here (jsonpos); the repeats
// become notes, since Packer itself refuses such a template. It then
// decodes the sections and each plugin's options with mapstructure, which
// matches a name exactly or else by case (Field, optionName).
type legacyLoader struct {
	file  string
	data  []byte
	lines jsonpos.Lines
	opts  Options
	vars  map[string]string
	known map[string]bool
	notes []Note
}

func newLegacyLoader(file string, data []byte, opts Options) *legacyLoader {
	return &legacyLoader{file: file, data: data, lines: jsonpos.NewLines(data), opts: opts, vars: map[string]string{}, known: map[string]bool{}}
}

// pos converts a byte offset to a position; Col counts characters.
func (l *legacyLoader) pos(off int) Pos {
	line, col := l.lines.Pos(off)
	return Pos{File: l.file, Line: line, Col: col}
}

// errAt turns a jsonpos error into an Error at its position.
func (l *legacyLoader) errAt(err error) error {
	var se *json.SyntaxError
	var le *jsonpos.LimitError
	switch {
	case errors.As(err, &se) && jsonpos.Truncated(l.data):
		return &Error{Pos: l.pos(len(l.data)), Msg: "invalid JSON: unexpected end of input"}
	case errors.As(err, &se):
		// encoding/json's offset is one past the offending byte.
		return &Error{Pos: l.pos(int(se.Offset) - 1), Msg: "invalid JSON: " + se.Error()}
	case errors.As(err, &le):
		return &Error{Pos: l.pos(le.Off), Msg: le.Msg + "; buildrole does not read templates past its limits"}
	}
	return &Error{Pos: l.pos(0), Msg: "invalid JSON: " + err.Error()}
}

// loadLegacy reads a legacy JSON template: its variables, its Amazon
// builders and its amazon-* post-processors.
func loadLegacy(path string, opts Options) (*Template, error) {
	l, root, err := readLegacy(path, opts)
	if err != nil {
		return nil, err
	}
	if err := l.variables(l.section(root, "variables"), opts.Vars); err != nil {
		return nil, err
	}
	t := &Template{}
	if t.Sources, err = l.builders(root); err != nil {
		return nil, err
	}
	t.PostProcessors = l.postProcessors(l.section(root, "post-processors"))
	t.Notes = l.notes
	return t, nil
}

// readLegacy reads and parses the file, and notes every key written twice.
func readLegacy(path string, opts Options) (*legacyLoader, *jsonpos.Node, error) {
	var r reader
	data, err := r.read(path)
	if err != nil {
		return nil, nil, err
	}
	l := newLegacyLoader(path, data, opts)
	root, err := jsonpos.Parse(data, jsonpos.Limits{MaxBytes: MaxFileBytes, MaxDepth: MaxDepth})
	if err != nil {
		return nil, nil, l.errAt(err)
	}
	if root.Kind != jsonpos.Object {
		return nil, nil, &Error{Pos: l.pos(root.Off), Msg: "a legacy JSON template must be an object"}
	}
	l.duplicates(root)
	return l, root, nil
}

// duplicates notes each ignored occurrence of a repeated key.
func (l *legacyLoader) duplicates(root *jsonpos.Node) {
	for _, d := range root.Duplicates() {
		last := l.pos(d.Offs[len(d.Offs)-1])
		for _, off := range d.Offs[:len(d.Offs)-1] {
			l.notes = append(l.notes, Note{Pos: l.pos(off), Message: fmt.Sprintf(
				"duplicate key %q: this one is ignored, the one at %d:%d counts (encoding/json reads the last); Packer refuses such a template (\"template has duplicate field\"): remove one",
				d.Key, last.Line, last.Col)})
		}
	}
}

// section is the value of a top-level section, its name matched as
// mapstructure matches it: exactly, else by case ("Builders").
func (l *legacyLoader) section(root *jsonpos.Node, name string) *jsonpos.Node {
	f := root.Field(name)
	if f == nil {
		return nil
	}
	for _, m := range root.Effective() {
		if m.KeyOff != f.KeyOff && strings.EqualFold(m.Key, name) {
			l.caseVariant(m, f.Key)
		}
	}
	return f.Val
}

// caseVariant notes a key ignored because another one, differing only in
// case, is read for the same name.
func (l *legacyLoader) caseVariant(m jsonpos.Member, read string) {
	l.notes = append(l.notes, Note{Pos: l.pos(m.KeyOff), Message: fmt.Sprintf(
		"key %q is ignored: %q, which differs only in case, is read; Packer refuses a template with both (an unknown key): remove one", m.Key, read)})
}

// optionName is the plugin option an option key sets: mapstructure
// matches a key to a field's name exactly or else under Unicode case
// folding, and the Amazon plugins' option names are lower-case ASCII, so
// each letter becomes the lower-case ASCII letter it folds to ("S" and
// U+017F LATIN SMALL LETTER LONG S to "s", "K" and U+212A KELVIN SIGN to
// "k"). A key with other characters names no option of a plugin.
func optionName(key string) string {
	return strings.Map(func(r rune) rune {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if 'a' <= f && f <= 'z' {
				return f
			}
		}
		return r
	}, key)
}

// variables reads the "variables" section and resolves the values, which
// may use {{env}} and {{user}} of other variables; -var (assigned) wins.
func (l *legacyLoader) variables(vars *jsonpos.Node, assigned map[string]string) error {
	if vars != nil && vars.Kind != jsonpos.Object {
		return &Error{Pos: l.pos(vars.Off), Msg: "\"variables\" must be an object"}
	}
	pending := map[string]*jsonpos.Node{}
	for _, m := range vars.Effective() {
		switch v := m.Val; v.Kind {
		case jsonpos.Null:
			l.vars[m.Key] = ""
		case jsonpos.String:
			l.vars[m.Key] = ""
			pending[m.Key] = v
		case jsonpos.Number, jsonpos.Bool:
			l.vars[m.Key], l.known[m.Key] = v.Str, true
		default:
			return &Error{Pos: l.pos(v.Off), Msg: fmt.Sprintf("variable %q must be a string", m.Key)}
		}
	}
	for name, val := range assigned {
		l.vars[name], l.known[name] = val, true
		delete(pending, name)
	}
	for round := 0; round <= len(pending) && len(pending) > 0; round++ {
		for _, k := range sortedKeys(pending) {
			s, known, _, _ := l.interpolate(pending[k].Str, true)
			if known {
				l.vars[k], l.known[k] = s, true
				delete(pending, k)
			}
		}
	}
	return nil
}

// builders reads the "builders" array: the Amazon builders, each with its
// options; other builders are noted and ignored.
func (l *legacyLoader) builders(root *jsonpos.Node) ([]Source, error) {
	builders := l.section(root, "builders")
	if builders == nil || builders.Kind != jsonpos.Array {
		pos := l.pos(root.Off)
		if builders != nil {
			pos = l.pos(builders.Off)
		}
		return nil, &Error{Pos: pos, Msg: "a legacy JSON template needs a \"builders\" array"}
	}
	var out []Source
	for _, b := range builders.Elems {
		if b.Kind != jsonpos.Object {
			return nil, &Error{Pos: l.pos(b.Off), Msg: "each builder must be an object"}
		}
		tn := b.Get("type")
		if tn == nil || tn.Kind != jsonpos.String {
			return nil, &Error{Pos: l.pos(b.Off), Msg: "builder has no \"type\""}
		}
		name := tn.Str
		if nn := b.Get("name"); nn != nil && nn.Kind == jsonpos.String {
			name = nn.Str
		}
		if !isAmazonBuilder(tn.Str) {
			l.notes = append(l.notes, Note{Pos: l.pos(b.Off), Message: fmt.Sprintf("builder %s: %q is not an Amazon builder: ignored", name, tn.Str)})
			continue
		}
		out = append(out, Source{Type: tn.Str, Name: name, Pos: l.pos(b.Off), Options: l.options(b, "builder "+name, "type", "name")})
	}
	return out, nil
}

// options converts an object's members, but the skipped ones, into
// options named as the plugin reads them (optionName). Of keys that differ
// only in case the exact name is read, else the last one; Packer refuses
// the others as unknown keys, and they are noted.
func (l *legacyLoader) options(obj *jsonpos.Node, owner string, skip ...string) map[string]Value {
	out := map[string]Value{}
	for _, m := range obj.Effective() {
		name := optionName(m.Key)
		if f := obj.Field(name); f != nil && f.KeyOff != m.KeyOff {
			l.caseVariant(m, f.Key)
			continue
		}
		if slices.Contains(skip, name) {
			continue
		}
		if v, ok := l.convert(name, m.Val, m.KeyOff, owner); ok {
			out[name] = v
		}
	}
	return out
}

// postProcessors reads the amazon-* post-processors: each element is a
// type name, an object, or an array of them (a chain).
func (l *legacyLoader) postProcessors(pps *jsonpos.Node) []Source {
	if pps == nil || pps.Kind != jsonpos.Array {
		return nil
	}
	var out []Source
	for _, pp := range pps.Elems {
		list := []*jsonpos.Node{pp}
		if pp.Kind == jsonpos.Array {
			list = pp.Elems
		}
		for _, e := range list {
			if s, ok := l.postProcessor(e); ok {
				out = append(out, s)
			}
		}
	}
	return out
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
			if _, ok := l.vars[name]; ok && slices.Contains(l.opts.Filled, name) {
				// The caller sets it at build time.
			} else if ok {
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

func (l *legacyLoader) postProcessor(e *jsonpos.Node) (Source, bool) {
	var typ string
	switch e.Kind {
	case jsonpos.String:
		typ = e.Str
	case jsonpos.Object:
		if tn := e.Get("type"); tn != nil && tn.Kind == jsonpos.String {
			typ = tn.Str
		}
	}
	if !strings.HasPrefix(typ, "amazon-") {
		return Source{}, false
	}
	src := Source{Type: typ, Name: typ, Pos: l.pos(e.Off), Options: map[string]Value{}}
	if e.Kind == jsonpos.Object {
		src.Options = l.options(e, "post-processor "+typ, "type")
	}
	return src, true
}

// convert turns a builder option into a Value; ok is false for null.
func (l *legacyLoader) convert(name string, n *jsonpos.Node, keyOff int, owner string) (Value, bool) {
	v := Value{Known: true, Pos: l.pos(keyOff)}
	var refs, reasons []string
	scalar := func(e *jsonpos.Node) string {
		switch e.Kind {
		case jsonpos.String:
			s, known, r, why := l.interpolate(e.Str, false)
			refs, reasons = append(refs, r...), append(reasons, why...)
			if !known {
				v.Known = false
			}
			return s
		case jsonpos.Number, jsonpos.Bool:
			return e.Str
		default:
			b, _ := json.Marshal(l.plain(e))
			return string(b)
		}
	}
	switch {
	case n.Kind == jsonpos.Null:
		return v, false
	case knownBlocks[name] && (n.Kind == jsonpos.Object || (n.Kind == jsonpos.Array && allObjects(n.Elems))):
		return l.blocks(v, n, owner), true
	case n.Kind == jsonpos.Array:
		v.List = make([]string, 0, len(n.Elems))
		for _, e := range n.Elems {
			if e.Kind == jsonpos.Null {
				continue
			}
			v.List = append(v.List, scalar(e))
		}
	case n.Kind == jsonpos.Object:
		v.Map = map[string]string{}
		for _, m := range n.Effective() {
			if m.Val.Kind == jsonpos.Null {
				continue
			}
			v.Map[m.Key] = scalar(m.Val)
		}
	default:
		v.String = scalar(n)
	}
	v.Refs = sortedUnique(refs)
	if !v.Known {
		v.String, v.List, v.Map = "", nil, nil
	}
	if !v.Known && (len(reasons) > 0 || !l.opts.filled(v.Refs)) {
		l.notes = append(l.notes, Note{Pos: v.Pos, Message: fmt.Sprintf("%s: %s depends on %s: treated conservatively", owner, name, strings.Join(sortedUnique(reasons), ", "))})
	}
	return v, true
}

// blocks fills v with a nested block option: an object, or an array of
// objects, one block each. v is known when every nested value is.
func (l *legacyLoader) blocks(v Value, n *jsonpos.Node, owner string) Value {
	elems := []*jsonpos.Node{n}
	if n.Kind == jsonpos.Array {
		elems = n.Elems
	}
	var refs []string
	v.Blocks = []map[string]Value{}
	for _, e := range elems {
		m := l.options(e, owner)
		for _, nv := range m {
			if !nv.Known {
				v.Known = false
			}
			refs = append(refs, nv.Refs...)
		}
		v.Blocks = append(v.Blocks, m)
	}
	v.Refs = sortedUnique(refs)
	return v
}

// plain is a value as encoding/json would decode it, strings interpolated.
func (l *legacyLoader) plain(e *jsonpos.Node) any {
	switch e.Kind {
	case jsonpos.String:
		s, _, _, _ := l.interpolate(e.Str, false)
		return s
	case jsonpos.Number:
		return json.Number(e.Str)
	case jsonpos.Bool:
		return e.Str == "true"
	case jsonpos.Array:
		out := []any{}
		for _, x := range e.Elems {
			out = append(out, l.plain(x))
		}
		return out
	case jsonpos.Object:
		out := map[string]any{}
		for _, m := range e.Effective() {
			out[m.Key] = l.plain(m.Val)
		}
		return out
	}
	return nil
}

func allObjects(ns []*jsonpos.Node) bool {
	for _, n := range ns {
		if n.Kind != jsonpos.Object {
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
