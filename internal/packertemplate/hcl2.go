package packertemplate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "variables"},
		{Type: "locals"},
		{Type: "local", LabelNames: []string{"name"}},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "build"},
		{Type: "packer"},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var localSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "expression", Required: true}, {Name: "sensitive"}},
}

var buildSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "description"}, {Name: "sources"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source", LabelNames: []string{"reference"}},
		{Type: "provisioner", LabelNames: []string{"type"}},
		{Type: "error-cleanup-provisioner", LabelNames: []string{"type"}},
		{Type: "post-processor", LabelNames: []string{"type"}},
		{Type: "post-processors"},
		{Type: "hcp_packer_registry"},
	},
}

var postProcessorsSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}},
}

type variable struct {
	name  string
	typ   cty.Type // cty.NilType when neither declared nor inferable
	typed bool     // type declared explicitly
	val   cty.Value
	has   bool
	from  string // "default", a var file name, "PKR_VAR_x", "-var"
	why   string // why the default is unknown
	pos   Pos
}

type local struct {
	name    string
	expr    hcl.Expression
	pos     Pos
	val     cty.Value
	err     string // last evaluation error
	refs    []string
	reasons []string
	done    bool // refs/reasons computed
	busy    bool
}

type sourceBlock struct {
	typ, name string
	block     *hcl.Block
	idx       int // index in Template.Sources; -1 for non-Amazon types
}

type hclLoader struct {
	opts    Options
	parser  *hclparse.Parser
	vars    map[string]*variable
	varList []string
	locals  map[string]*local
	funcs   map[string]bool // functions producing unknowns under these options
	ctx     *hcl.EvalContext
	notes   []Note
	t       *Template
	files   reader
}

// loadHCL reads an HCL2 template (native or JSON files, and the
// auto-loaded var files) in packer's phases.
func loadHCL(files, varFiles []string, opts Options) (*Template, error) {
	l := newHCLLoader(opts)
	contents, err := l.parseFiles(files)
	if err != nil {
		return nil, err
	}
	// 1. variable declarations and defaults.
	if err := eachBlock(contents, l.declareVariableBlock); err != nil {
		return nil, err
	}
	// 2. assignments, in packer's order.
	if err := l.assignVariables(varFiles); err != nil {
		return nil, err
	}
	// 3. locals.
	if err := eachBlock(contents, l.declareLocalBlock); err != nil {
		return nil, err
	}
	l.evalLocals()
	// 4. sources and data sources.
	sources, err := l.sources(contents)
	if err != nil {
		return nil, err
	}
	// 5. builds.
	if err := l.builds(contents, sources); err != nil {
		return nil, err
	}
	if err := eachBlock(contents, l.requiredPlugins); err != nil {
		return nil, err
	}
	l.t.Notes = append(l.notes, l.t.Notes...)
	return l.t, nil
}

func newHCLLoader(opts Options) *hclLoader {
	l := &hclLoader{
		opts:   opts,
		parser: hclparse.NewParser(),
		vars:   map[string]*variable{},
		locals: map[string]*local{},
		funcs:  map[string]bool{},
		t:      &Template{},
	}
	for name := range unknownFuncs {
		l.funcs[name] = true
	}
	if opts.Env == nil {
		l.funcs["env"] = true
	}
	return l
}

// parseFiles parses each file and checks its top-level blocks.
func (l *hclLoader) parseFiles(files []string) ([]*hcl.BodyContent, error) {
	var contents []*hcl.BodyContent
	for _, name := range files {
		f, err := l.parse(name)
		if err != nil {
			return nil, err
		}
		c, diags := f.Body.Content(rootSchema)
		if diags.HasErrors() {
			return nil, diagsError(diags)
		}
		contents = append(contents, c)
	}
	return contents, nil
}

// eachBlock calls f for every top-level block of every file, in order,
// and stops at the first error.
func eachBlock(contents []*hcl.BodyContent, f func(*hcl.Block) error) error {
	for _, c := range contents {
		for _, b := range c.Blocks {
			if err := f(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// declareVariableBlock declares the variables of a variable or variables
// block, with their defaults.
func (l *hclLoader) declareVariableBlock(b *hcl.Block) error {
	switch b.Type {
	case "variable":
		return l.declareVariable(b)
	case "variables":
		return l.declareVariables(b)
	}
	return nil
}

// assignVariables assigns values in packer's order: PKR_VAR_ environment,
// then the auto-loaded var files in lexical order, then -var.
func (l *hclLoader) assignVariables(varFiles []string) error {
	if err := l.assignEnv(); err != nil {
		return err
	}
	for _, name := range varFiles {
		if err := l.assignFile(name); err != nil {
			return err
		}
	}
	return l.assignArgs()
}

// declareLocalBlock declares the locals of a locals or local block.
func (l *hclLoader) declareLocalBlock(b *hcl.Block) error {
	switch b.Type {
	case "locals":
		return l.declareLocals(b)
	case "local":
		return l.declareLocal(b)
	}
	return nil
}

// sources reads the source blocks (Amazon builders into Template.Sources,
// others noted) and the amazon-* data blocks into Template.Data; it
// returns every source block by "TYPE.NAME".
func (l *hclLoader) sources(contents []*hcl.BodyContent) (map[string]*sourceBlock, error) {
	sources := map[string]*sourceBlock{}
	err := eachBlock(contents, func(b *hcl.Block) error {
		switch b.Type {
		case "source":
			return l.source(b, sources)
		case "data":
			if strings.HasPrefix(b.Labels[0], "amazon-") {
				owner := "data." + b.Labels[0] + "." + b.Labels[1]
				l.t.Data = append(l.t.Data, Source{Type: b.Labels[0], Name: b.Labels[1], Pos: blockPos(b), Options: l.convertBody(b.Body, l.ctx, owner, "")})
			}
		}
		return nil
	})
	return sources, err
}

// source reads one source block; a second block of the same type and name
// is an error.
func (l *hclLoader) source(b *hcl.Block, sources map[string]*sourceBlock) error {
	key := b.Labels[0] + "." + b.Labels[1]
	if prev, ok := sources[key]; ok {
		return &Error{Pos: posOf(b.DefRange), Msg: fmt.Sprintf("duplicate source %q, first defined at %s", "source."+key, posOf(prev.block.DefRange))}
	}
	sb := &sourceBlock{typ: b.Labels[0], name: b.Labels[1], block: b, idx: -1}
	sources[key] = sb
	if !isAmazonBuilder(sb.typ) {
		l.note(posOf(b.DefRange), fmt.Sprintf("source.%s: %q is not an Amazon builder: ignored", key, sb.typ))
		return nil
	}
	owner := "source." + key
	s := Source{Type: sb.typ, Name: sb.name, Pos: blockPos(b), Options: l.convertBody(b.Body, l.ctx, owner, "")}
	l.t.Sources = append(l.t.Sources, s)
	sb.idx = len(l.t.Sources) - 1
	return nil
}

// builds reads the build blocks against the sources as declared (before
// any build-level override).
func (l *hclLoader) builds(contents []*hcl.BodyContent, sources map[string]*sourceBlock) error {
	base := map[string]Source{}
	for key, sb := range sources {
		if sb.idx >= 0 {
			base[key] = l.t.Sources[sb.idx]
		}
	}
	return eachBlock(contents, func(b *hcl.Block) error {
		if b.Type == "build" {
			return l.build(b, sources, base)
		}
		return nil
	})
}

func (l *hclLoader) parse(name string) (*hcl.File, error) {
	src, err := l.files.read(name)
	if err != nil {
		return nil, err
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		f, diags = l.parser.ParseJSON(src, name)
	} else {
		f, diags = l.parser.ParseHCL(src, name)
	}
	if diags.HasErrors() {
		return nil, diagsError(diags)
	}
	return f, nil
}

func (l *hclLoader) note(pos Pos, msg string) {
	l.notes = append(l.notes, Note{Pos: pos, Message: msg})
}

// ---- variables ----

func (l *hclLoader) funcCtx() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: functions(l.opts.envReader())}
}

func (l *hclLoader) addVariable(v *variable, rng hcl.Range) error {
	if prev, ok := l.vars[v.name]; ok {
		return &Error{Pos: posOf(rng), Msg: fmt.Sprintf("duplicate variable %q, first declared at %s", v.name, prev.pos)}
	}
	l.vars[v.name] = v
	l.varList = append(l.varList, v.name)
	return nil
}

func (l *hclLoader) declareVariable(b *hcl.Block) error {
	c, _, diags := b.Body.PartialContent(variableSchema)
	if diags.HasErrors() {
		return diagsError(diags)
	}
	v := &variable{name: b.Labels[0], typ: cty.NilType, pos: posOf(b.DefRange)}
	if attr, ok := c.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(attr.Expr)
		if diags.HasErrors() {
			return diagsError(diags)
		}
		v.typ, v.typed = ty, true
	}
	if attr, ok := c.Attributes["default"]; ok {
		val, diags := attr.Expr.Value(l.funcCtx())
		if diags.HasErrors() {
			l.note(posOf(attr.Range), fmt.Sprintf("var.%s: default cannot be evaluated (%s): treated as unknown", v.name, diagText(diags)))
			val = cty.DynamicVal
		}
		if v.typed && val.IsKnown() {
			cv, err := convert.Convert(val, v.typ)
			if err != nil {
				return &Error{Pos: posOf(attr.Expr.Range()), Msg: fmt.Sprintf("invalid default for variable %q: %v", v.name, err)}
			}
			val = cv
		}
		if !v.typed && val.IsKnown() {
			// packer takes the type of the default when none is declared.
			v.typ = val.Type()
		}
		if !val.IsWhollyKnown() {
			v.why = l.funcReasons(attr.Expr)
		}
		v.val, v.has, v.from = val, true, "default"
	}
	return l.addVariable(v, b.DefRange)
}

func (l *hclLoader) declareVariables(b *hcl.Block) error {
	attrs, diags := b.Body.JustAttributes()
	if diags.HasErrors() {
		return diagsError(diags)
	}
	for _, a := range sortedAttrs(attrs) {
		val, diags := a.Expr.Value(l.funcCtx())
		if diags.HasErrors() {
			l.note(posOf(a.Range), fmt.Sprintf("var.%s: default cannot be evaluated (%s): treated as unknown", a.Name, diagText(diags)))
			val = cty.DynamicVal
		}
		v := &variable{name: a.Name, typ: cty.NilType, val: val, has: true, from: "default", pos: posOf(a.NameRange)}
		if val.IsKnown() {
			v.typ = val.Type()
		}
		if err := l.addVariable(v, a.NameRange); err != nil {
			return err
		}
	}
	return nil
}

// parseAssigned turns -var / PKR_VAR_ text into a value the way packer
// does: literal text for string, number and untyped variables, an HCL
// expression otherwise; then converted to the variable's type.
func (l *hclLoader) parseAssigned(v *variable, raw, what string) (cty.Value, error) {
	var val cty.Value
	switch v.typ {
	case cty.NilType, cty.String, cty.Number, cty.DynamicPseudoType:
		val = cty.StringVal(raw)
	default:
		expr, diags := hclsyntax.ParseExpression([]byte(raw), what, hcl.Pos{Line: 1, Column: 1, Byte: 0})
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("%s: %s", what, diagText(diags))
		}
		val, diags = expr.Value(nil)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("%s: %s", what, diagText(diags))
		}
	}
	return l.convertTo(v, val, what)
}

func (l *hclLoader) convertTo(v *variable, val cty.Value, what string) (cty.Value, error) {
	if v.typ == cty.NilType {
		return val, nil
	}
	if !v.typed && !v.typ.IsPrimitiveType() {
		// The type was inferred from a structured default; keep the value as
		// given rather than guessing a conversion.
		return val, nil
	}
	cv, err := convert.Convert(val, v.typ)
	if err != nil {
		return cty.NilVal, fmt.Errorf("%s: invalid value for variable %q: %v", what, v.name, err)
	}
	return cv, nil
}

func (l *hclLoader) assignEnv() error {
	if l.opts.Env == nil {
		return nil
	}
	for _, name := range l.varList {
		raw := l.opts.Env("PKR_VAR_" + name)
		if raw == "" {
			continue
		}
		v := l.vars[name]
		what := "PKR_VAR_" + name
		val, err := l.parseAssigned(v, raw, what)
		if err != nil {
			return err
		}
		v.val, v.has, v.from = val, true, what
	}
	return nil
}

func (l *hclLoader) assignFile(name string) error {
	f, err := l.parse(name)
	if err != nil {
		return err
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return diagsError(diags)
	}
	for _, a := range sortedAttrs(attrs) {
		v, ok := l.vars[a.Name]
		if !ok {
			l.note(posOf(a.NameRange), fmt.Sprintf("%s sets undeclared variable %q: ignored (packer warns)", name, a.Name))
			continue
		}
		val, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return diagsError(diags)
		}
		val, err := l.convertTo(v, val, posOf(a.Expr.Range()).String())
		if err != nil {
			return err
		}
		if strings.HasPrefix(v.from, "PKR_VAR_") {
			l.note(posOf(a.NameRange), fmt.Sprintf("%s overrides %s, as packer does (var files take precedence over the environment)", name, v.from))
		}
		v.val, v.has, v.from = val, true, name
	}
	return nil
}

func (l *hclLoader) assignArgs() error {
	names := make([]string, 0, len(l.opts.Vars))
	for n := range l.opts.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := l.vars[name]
		if !ok {
			return fmt.Errorf("-var %s: variable %q is not declared in the template", name, name)
		}
		val, err := l.parseAssigned(v, l.opts.Vars[name], "-var "+name)
		if err != nil {
			return err
		}
		v.val, v.has, v.from = val, true, "-var"
	}
	return nil
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].Range, out[j].Range
		if ri.Filename != rj.Filename {
			return ri.Filename < rj.Filename
		}
		return ri.Start.Byte < rj.Start.Byte
	})
	return out
}

// ---- locals ----

func (l *hclLoader) addLocal(lc *local) error {
	if prev, ok := l.locals[lc.name]; ok {
		return &Error{Pos: lc.pos, Msg: fmt.Sprintf("duplicate local %q, first defined at %s", lc.name, prev.pos)}
	}
	l.locals[lc.name] = lc
	return nil
}

func (l *hclLoader) declareLocals(b *hcl.Block) error {
	attrs, diags := b.Body.JustAttributes()
	if diags.HasErrors() {
		return diagsError(diags)
	}
	for _, a := range sortedAttrs(attrs) {
		if err := l.addLocal(&local{name: a.Name, expr: a.Expr, pos: posOf(a.NameRange), val: cty.DynamicVal}); err != nil {
			return err
		}
	}
	return nil
}

func (l *hclLoader) declareLocal(b *hcl.Block) error {
	c, diags := b.Body.Content(localSchema)
	if diags.HasErrors() {
		return diagsError(diags)
	}
	return l.addLocal(&local{name: b.Labels[0], expr: c.Attributes["expression"].Expr, pos: posOf(b.DefRange), val: cty.DynamicVal})
}

func (l *hclLoader) buildCtx() *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for name, v := range l.vars {
		if v.has {
			vars[name] = v.val
		} else {
			vars[name] = cty.DynamicVal
		}
	}
	locals := map[string]cty.Value{}
	for name, lc := range l.locals {
		locals[name] = lc.val
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(vars),
			"local": cty.ObjectVal(locals),
		},
		Functions: functions(l.opts.envReader()),
	}
	for _, root := range buildTimeRoots {
		ctx.Variables[root] = cty.DynamicVal
	}
	return ctx
}

// evalLocals evaluates the locals to a fixed point: each round evaluates
// every local against the previous results; unresolved ones stay unknown.
func (l *hclLoader) evalLocals() {
	names := make([]string, 0, len(l.locals))
	for n := range l.locals {
		names = append(names, n)
	}
	sort.Strings(names)
	for round := 0; round <= len(names); round++ {
		ctx := l.buildCtx()
		changed := false
		for _, n := range names {
			lc := l.locals[n]
			val, diags := lc.expr.Value(ctx)
			lc.err = ""
			if diags.HasErrors() {
				lc.err = diagText(diags)
				val = cty.DynamicVal
			}
			if !val.RawEquals(lc.val) {
				lc.val = val
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	l.ctx = l.buildCtx()
	for _, n := range names {
		lc := l.locals[n]
		if lc.err != "" {
			l.note(lc.pos, fmt.Sprintf("local.%s cannot be evaluated statically (%s): treated as unknown", n, lc.err))
		}
	}
}

// localInfo returns the transitive references and unknown reasons of a local.
func (l *hclLoader) localInfo(name string) (refs, reasons []string) {
	lc, ok := l.locals[name]
	if !ok {
		return nil, []string{"undefined local." + name}
	}
	if lc.done || lc.busy {
		return lc.refs, lc.reasons
	}
	lc.busy = true
	refs, reasons = l.exprInfo(lc.expr)
	if lc.err != "" {
		reasons = append(reasons, lc.err)
	}
	if lc.val.IsWhollyKnown() {
		reasons = nil
	} else if len(reasons) == 0 && !l.opts.filled(refs) {
		reasons = []string{"local." + name + " (not statically resolvable)"}
	}
	lc.refs, lc.reasons = sortedUnique(refs), sortedUnique(reasons)
	lc.busy, lc.done = false, true
	return lc.refs, lc.reasons
}

// exprInfo returns an expression's references (through locals) and the
// reasons it may be unknown.
func (l *hclLoader) exprInfo(expr hcl.Expression) (refs, reasons []string) {
	for _, t := range expr.Variables() {
		r := renderTraversal(t)
		if r == "" {
			continue
		}
		refs = append(refs, r)
		root := t.RootName()
		name := strings.TrimPrefix(r, root+".")
		switch root {
		case "var":
			v, ok := l.vars[name]
			switch {
			case !ok:
				reasons = append(reasons, "undeclared "+r)
			case !v.has && slices.Contains(l.opts.Filled, name):
				// The caller sets it at build time: nothing to tell.
			case !v.has:
				reasons = append(reasons, r+" (no value; set by -var or PKR_VAR_"+name+" at build time)")
			case !v.val.IsWhollyKnown():
				if v.why != "" {
					r += " (" + v.why + " in its default)"
				}
				reasons = append(reasons, r)
			}
		case "local":
			lrefs, lreasons := l.localInfo(name)
			refs = append(refs, lrefs...)
			reasons = append(reasons, lreasons...)
		default:
			reasons = append(reasons, r)
		}
	}
	for _, fn := range calledFuncs(expr) {
		if l.funcs[fn] {
			reasons = append(reasons, fn+"()")
		}
	}
	return refs, reasons
}

func (l *hclLoader) funcReasons(expr hcl.Expression) string {
	var out []string
	for _, fn := range calledFuncs(expr) {
		if l.funcs[fn] {
			out = append(out, fn+"()")
		}
	}
	return strings.Join(sortedUnique(out), ", ")
}

// ---- bodies ----

// exprValue evaluates one attribute. skip is true for a known null (unset).
func (l *hclLoader) exprValue(name string, expr hcl.Expression, pos Pos, ctx *hcl.EvalContext, owner string) (v Value, skip bool) {
	refs, reasons := l.exprInfo(expr)
	v = Value{Pos: pos, Refs: sortedUnique(refs)}
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		reasons = append([]string{diagText(diags)}, reasons...)
		l.note(pos, fmt.Sprintf("%s: %s cannot be evaluated statically (%s): treated conservatively", owner, name, strings.Join(sortedUnique(reasons), "; ")))
		return v, false
	}
	if !val.IsWhollyKnown() {
		reasons = sortedUnique(reasons)
		if len(reasons) == 0 && l.opts.filled(refs) {
			return v, false // unknown only through what the caller fills
		}
		if len(reasons) == 0 {
			reasons = []string{"a value not known until build time"}
		}
		l.note(pos, fmt.Sprintf("%s: %s depends on %s: treated conservatively", owner, name, strings.Join(reasons, ", ")))
		return v, false
	}
	if val.IsNull() {
		return v, true
	}
	v.Known = true
	if knownBlocks[shortName(name)] {
		if bl, ok := valueBlocks(val, pos, v.Refs); ok {
			v.Blocks = bl
			return v, false
		}
	}
	fillValue(&v, val)
	return v, false
}

func shortName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// convertBody turns a block body into options. prefix names nested options
// in notes ("source_ami_filter.").
func (l *hclLoader) convertBody(body hcl.Body, ctx *hcl.EvalContext, owner, prefix string) map[string]Value {
	out := map[string]Value{}
	addBlock := func(typ string, pos Pos, m map[string]Value) {
		v, ok := out[typ]
		if !ok {
			v = Value{Known: true, Pos: pos}
		}
		v.Blocks = append(v.Blocks, m)
		for _, nv := range m {
			if !nv.Known {
				v.Known = false
			}
			v.Refs = append(v.Refs, nv.Refs...)
		}
		v.Refs = sortedUnique(v.Refs)
		out[typ] = v
	}
	if sb, ok := body.(*hclsyntax.Body); ok {
		attrs := make([]*hclsyntax.Attribute, 0, len(sb.Attributes))
		for _, a := range sb.Attributes {
			attrs = append(attrs, a)
		}
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
		for _, a := range attrs {
			if v, skip := l.exprValue(prefix+a.Name, a.Expr, posOf(a.NameRange), ctx, owner); !skip {
				out[a.Name] = v
			}
		}
		for _, b := range sb.Blocks {
			if b.Type == "dynamic" && len(b.Labels) == 1 {
				l.dynamic(b, ctx, owner, prefix, out, addBlock)
				continue
			}
			addBlock(b.Type, posOf(b.TypeRange), l.convertBody(b.Body, ctx, owner, prefix+b.Type+"."))
		}
		return out
	}
	// JSON syntax: nested blocks are objects; read the known block types as
	// blocks and everything else as attributes.
	schema := &hcl.BodySchema{}
	for name := range knownBlocks {
		schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: name})
	}
	sort.Slice(schema.Blocks, func(i, j int) bool { return schema.Blocks[i].Type < schema.Blocks[j].Type })
	c, rest, diags := body.PartialContent(schema)
	if diags.HasErrors() {
		l.note(Pos{}, fmt.Sprintf("%s: %s", owner, diagText(diags)))
	}
	for _, b := range c.Blocks {
		addBlock(b.Type, posOf(b.TypeRange), l.convertBody(b.Body, ctx, owner, prefix+b.Type+"."))
	}
	attrs, diags := rest.JustAttributes()
	if diags.HasErrors() {
		l.note(Pos{}, fmt.Sprintf("%s: %s", owner, diagText(diags)))
	}
	for _, a := range sortedAttrs(attrs) {
		if v, skip := l.exprValue(prefix+a.Name, a.Expr, posOf(a.NameRange), ctx, owner); !skip {
			out[a.Name] = v
		}
	}
	return out
}

// dynamic expands a `dynamic "TYPE" { for_each = ... content { ... } }`
// block when for_each is known; otherwise the option is unknown.
func (l *hclLoader) dynamic(b *hclsyntax.Block, ctx *hcl.EvalContext, owner, prefix string, out map[string]Value, addBlock func(string, Pos, map[string]Value)) {
	typ := b.Labels[0]
	pos := posOf(b.TypeRange)
	iter := typ
	if a, ok := b.Body.Attributes["iterator"]; ok {
		if kw := hcl.ExprAsKeyword(a.Expr); kw != "" {
			iter = kw
		}
	}
	var content *hclsyntax.Block
	for _, cb := range b.Body.Blocks {
		if cb.Type == "content" {
			content = cb
		}
	}
	fe, ok := b.Body.Attributes["for_each"]
	if !ok || content == nil {
		l.note(pos, fmt.Sprintf("%s: dynamic %q block without for_each or content: ignored", owner, typ))
		return
	}
	refs, reasons := l.exprInfo(fe.Expr)
	val, diags := fe.Expr.Value(ctx)
	if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() || !val.CanIterateElements() {
		if diags.HasErrors() {
			reasons = append(reasons, diagText(diags))
		}
		reasons = sortedUnique(reasons)
		if len(reasons) == 0 {
			reasons = []string{"a value not known until build time"}
		}
		l.note(pos, fmt.Sprintf("%s: dynamic %s%s blocks depend on %s: treated conservatively", owner, prefix, typ, strings.Join(reasons, ", ")))
		out[typ] = Value{Pos: pos, Refs: sortedUnique(refs)}
		return
	}
	for it := val.ElementIterator(); it.Next(); {
		k, e := it.Element()
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": e})}
		addBlock(typ, pos, l.convertBody(content.Body, child, owner, prefix+typ+"."))
	}
}

// ---- builds ----

func parseSourceRef(ref string) (typ, name string, ok bool) {
	ref = strings.TrimPrefix(ref, "source.")
	i := strings.IndexByte(ref, '.')
	if i <= 0 || i == len(ref)-1 {
		return "", "", false
	}
	return ref[:i], ref[i+1:], true
}

func (l *hclLoader) build(b *hcl.Block, sources map[string]*sourceBlock, base map[string]Source) error {
	c, _, diags := b.Body.PartialContent(buildSchema)
	if diags.HasErrors() {
		return diagsError(diags)
	}
	buildName := ""
	if a, ok := c.Attributes["name"]; ok {
		if v, diags := a.Expr.Value(l.ctx); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			buildName = v.AsString()
		}
	}
	owner := "build"
	if buildName != "" {
		owner = "build " + buildName
	}
	if a, ok := c.Attributes["sources"]; ok {
		val, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			return diagsError(diags)
		}
		if !val.CanIterateElements() {
			return &Error{Pos: posOf(a.Expr.Range()), Msg: "build sources must be a list of source references"}
		}
		for it := val.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() != cty.String || e.IsNull() {
				return &Error{Pos: posOf(a.Expr.Range()), Msg: "build sources must be a list of strings like \"source.amazon-ebs.name\""}
			}
			typ, name, ok := parseSourceRef(e.AsString())
			if !ok || sources[typ+"."+name] == nil {
				return &Error{Pos: posOf(a.Expr.Range()), Msg: fmt.Sprintf("build references undefined source %q", e.AsString())}
			}
		}
	}
	for _, sb := range c.Blocks {
		switch sb.Type {
		case "source":
			typ, name, ok := parseSourceRef(sb.Labels[0])
			if !ok || sources[typ+"."+name] == nil {
				return &Error{Pos: posOf(sb.LabelRanges[0]), Msg: fmt.Sprintf("build references undefined source %q", sb.Labels[0])}
			}
			b0, ok := base[typ+"."+name]
			if !ok {
				continue // not an Amazon builder
			}
			over := l.convertBody(sb.Body, l.ctx, owner+" source."+typ+"."+name, "")
			v := Source{Type: typ, Name: name, Build: buildName, Pos: blockPos(sb), Options: map[string]Value{}}
			for k, ov := range b0.Options {
				v.Options[k] = ov
			}
			for k, ov := range over {
				if k == "name" {
					if ov.Known && ov.String != "" {
						v.Name = ov.String
					}
					continue
				}
				v.Options[k] = ov
			}
			l.t.Sources = append(l.t.Sources, v)
		case "post-processor":
			l.postProcessor(sb, buildName, owner)
		case "post-processors":
			pc, diags := sb.Body.Content(postProcessorsSchema)
			if diags.HasErrors() {
				return diagsError(diags)
			}
			for _, pb := range pc.Blocks {
				l.postProcessor(pb, buildName, owner)
			}
		}
	}
	return nil
}

func (l *hclLoader) postProcessor(b *hcl.Block, buildName, owner string) {
	typ := b.Labels[0]
	if !strings.HasPrefix(typ, "amazon-") {
		return
	}
	opts := l.convertBody(b.Body, l.ctx, owner+" post-processor "+typ, "")
	name := typ
	if v, ok := opts["name"]; ok {
		if v.Known && v.String != "" {
			name = v.String
		}
		delete(opts, "name")
	}
	l.t.PostProcessors = append(l.t.PostProcessors, Source{Type: typ, Name: name, Build: buildName, Pos: blockPos(b), Options: opts})
}

// blockPos is where a block starts: its type keyword in native syntax, its
// last label's key in JSON syntax (where the type key may be shared).
func blockPos(b *hcl.Block) Pos {
	if strings.HasSuffix(b.TypeRange.Filename, ".json") && len(b.LabelRanges) > 0 {
		return posOf(b.LabelRanges[len(b.LabelRanges)-1])
	}
	return posOf(b.TypeRange)
}
