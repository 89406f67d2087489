package packertemplate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// buildTimeRoots are reference roots whose values exist only while packer
// runs; they evaluate to unknown.
var buildTimeRoots = []string{"data", "source", "build", "path", "packer"}

// unknownFuncs are functions packer offers whose result cannot (or should
// not) be computed statically: impure, reading files or secrets. They return
// unknown values.
var unknownFuncs = map[string]cty.Type{
	"timestamp":              cty.String,
	"uuidv4":                 cty.String,
	"uuidv5":                 cty.String,
	"bcrypt":                 cty.String,
	"file":                   cty.String,
	"fileset":                cty.Set(cty.String),
	"templatefile":           cty.String,
	"abspath":                cty.String,
	"pathexpand":             cty.String,
	"aws_secretsmanager":     cty.String,
	"aws_secretsmanager_raw": cty.String,
	"consul_key":             cty.String,
	"vault":                  cty.String,
	"legacy_isotime":         cty.String,
	"legacy_strftime":        cty.String,
	"sha256":                 cty.String,
	"base64encode":           cty.String,
	"base64decode":           cty.String,
}

func unknownFunc(ret cty.Type) function.Function {
	return function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowDynamicType: true, AllowMarked: true},
		Type:     function.StaticReturnType(ret),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(ret), nil
		},
	})
}

// lengthFunc is Packer's length: strings, collections and structural types.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		ty := v.Type()
		switch {
		case ty == cty.DynamicPseudoType || !v.IsKnown():
			return cty.UnknownVal(cty.Number), nil
		case ty == cty.String:
			return stdlib.Strlen(v)
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		case ty.IsTupleType():
			return cty.NumberIntVal(int64(len(ty.TupleElementTypes()))), nil
		}
		return stdlib.Length(v)
	},
})

// coalesceFunc returns the first argument that is neither null nor an empty
// string, as packer documents.
var coalesceFunc = function.New(&function.Spec{
	VarParam: &function.Parameter{Name: "vals", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true},
	Type: func(args []cty.Value) (cty.Type, error) {
		types := make([]cty.Type, len(args))
		for i, a := range args {
			types[i] = a.Type()
		}
		ty, _ := convert.UnifyUnsafe(types)
		if ty == cty.NilType {
			return cty.NilType, fmt.Errorf("all arguments must have the same type")
		}
		return ty, nil
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		for _, a := range args {
			if !a.IsKnown() {
				return cty.UnknownVal(retType), nil
			}
			if a.IsNull() || (a.Type() == cty.String && a.AsString() == "") {
				continue
			}
			return convert.Convert(a, retType)
		}
		return cty.NilVal, fmt.Errorf("no non-null, non-empty-string arguments")
	},
})

func envFunc(env func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if env == nil {
				return cty.UnknownVal(cty.String), nil
			}
			v, ok := env(args[0].AsString())
			if !ok {
				return cty.UnknownVal(cty.String), nil
			}
			return cty.StringVal(v), nil
		},
	})
}

func functions(env func(string) (string, bool)) map[string]function.Function {
	f := map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        coalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"env":             envFunc(env),
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          lengthFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"regexall":        stdlib.RegexAllFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
	for name, ret := range unknownFuncs {
		f[name] = unknownFunc(ret)
	}
	return f
}

// renderTraversal renders a reference: var.NAME, local.NAME, data.TYPE.NAME,
// other roots with their first attribute. Unknown roots (iterators, for
// expression symbols) render as "".
func renderTraversal(t hcl.Traversal) string {
	root := t.RootName()
	want := 1
	switch root {
	case "var", "local", "source", "build", "path", "packer":
	case "data":
		want = 2
	default:
		return ""
	}
	parts := []string{root}
	for _, step := range t[1:] {
		if len(parts) > want {
			break
		}
		switch s := step.(type) {
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				parts = append(parts, s.Key.AsString())
			} else {
				return strings.Join(parts, ".")
			}
		default:
			return strings.Join(parts, ".")
		}
	}
	return strings.Join(parts, ".")
}

// calledFuncs lists the functions an expression calls (native syntax only).
func calledFuncs(expr hcl.Expression) []string {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return nil
	}
	var names []string
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			names = append(names, call.Name)
		}
		return nil
	})
	return names
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, s := range in {
		if s != "" {
			m[s] = true
		}
	}
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func scalarText(v cty.Value) (string, bool) {
	if v.IsNull() || !v.IsKnown() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	}
	return "", false
}

func elemText(v cty.Value) string {
	if s, ok := scalarText(v); ok {
		return s
	}
	if v.IsNull() {
		return ""
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return ""
	}
	return string(b)
}

// fillValue stores a wholly known, non-null value in v.
func fillValue(v *Value, val cty.Value) {
	ty := val.Type()
	switch {
	case ty.IsPrimitiveType():
		v.String, _ = scalarText(val)
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		v.List = make([]string, 0, val.LengthInt())
		for it := val.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				continue
			}
			v.List = append(v.List, elemText(e))
		}
	case ty.IsMapType() || ty.IsObjectType():
		v.Map = map[string]string{}
		for it := val.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				continue
			}
			v.Map[k.AsString()] = elemText(e)
		}
	default:
		v.String = elemText(val)
	}
}

// valueBlocks converts an object or a list of objects (a block written as an
// attribute, as JSON syntax does) into block maps.
func valueBlocks(val cty.Value, pos Pos, refs []string) ([]map[string]Value, bool) {
	if val.IsNull() || !val.IsWhollyKnown() {
		return nil, false
	}
	ty := val.Type()
	one := func(o cty.Value) (map[string]Value, bool) {
		if !(o.Type().IsObjectType() || o.Type().IsMapType()) || o.IsNull() {
			return nil, false
		}
		m := map[string]Value{}
		for it := o.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				continue
			}
			nv := Value{Known: true, Pos: pos, Refs: refs}
			if bl, ok := valueBlocks(e, pos, refs); ok && knownBlocks[k.AsString()] {
				nv.Blocks = bl
			} else {
				fillValue(&nv, e)
			}
			m[k.AsString()] = nv
		}
		return m, true
	}
	if ty.IsObjectType() || ty.IsMapType() {
		m, ok := one(val)
		if !ok {
			return nil, false
		}
		return []map[string]Value{m}, true
	}
	if ty.IsListType() || ty.IsTupleType() || ty.IsSetType() {
		out := []map[string]Value{}
		for it := val.ElementIterator(); it.Next(); {
			_, e := it.Element()
			m, ok := one(e)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	return nil, false
}

// knownBlocks are the nested block types of the Amazon builders, data
// sources and post-processors (from the plugin's HCL2 specs), and of their
// nested blocks. JSON syntax writes them as objects or arrays of objects.
var knownBlocks = map[string]bool{
	"assume_role":                   true,
	"vault_aws_engine":              true,
	"aws_polling":                   true,
	"tag":                           true,
	"snapshot_tag":                  true,
	"deregistration_protection":     true,
	"fleet_tag":                     true,
	"security_group_filter":         true,
	"run_tag":                       true,
	"run_volume_tag":                true,
	"source_ami_filter":             true,
	"spot_tag":                      true,
	"subnet_filter":                 true,
	"license_specifications":        true,
	"license_configuration_request": true,
	"placement":                     true,
	"vpc_filter":                    true,
	"metadata_options":              true,
	"ami_block_device_mappings":     true,
	"launch_block_device_mappings":  true,
	"fast_launch":                   true,
	"region_launch_templates":       true,
	"ebs_volumes":                   true,
	"ami_root_device":               true,
	"root_volume_tag":               true,
	"filter":                        true,
	"Statement":                     true,
	"session_tag":                   true,
	"temporary_iam_instance_profile_policy_document": true,
}
