package packertemplate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Pos is a position in a template file; Line and Col are 1-based.
type Pos struct {
	File      string
	Line, Col int
}

// LegacyJSON reports whether file is a legacy JSON template (.json but
// not .pkr.json), whose variables are written {{user `x`}}, not var.x.
func LegacyJSON(file string) bool {
	return strings.HasSuffix(file, ".json") && !strings.HasSuffix(file, ".pkr.json") && !strings.HasSuffix(file, ".pkrvars.json")
}

// String renders the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Value is one option value as far as it can be resolved statically.
type Value struct {
	// Known is false when the value depends on something that cannot be
	// resolved statically (a variable without value, a data source, a
	// build-time value, an impure or unknown function): treat conservatively.
	// For Blocks, Known is true only when every nested value is known.
	Known bool
	// String holds strings, numbers and bools rendered as text ("true").
	String string
	// List holds lists, sets and tuples (non-nil, possibly empty, when the
	// value is a known collection). Non-scalar elements are rendered as JSON.
	List []string
	// Map holds maps and objects (non-nil when the value is a known map).
	// Non-scalar element values are rendered as JSON.
	Map map[string]string
	// Refs are the references the expression makes, sorted: var.NAME,
	// local.NAME, and the build-time roots data.TYPE.NAME, source.*, build.*,
	// path.*, packer.*. References reached through locals are included, so
	// `run_tags = local.tags` with `tags = var.x` has Refs [local.tags var.x].
	Refs []string
	// Blocks holds nested blocks: one map per block occurrence.
	Blocks []map[string]Value
	// Pos is where the option is written (attribute name or block type).
	Pos Pos
}

// Source is one Amazon builder (or, in Template.Data and
// Template.PostProcessors, one Amazon data source or post-processor).
type Source struct {
	// Type is the builder type, e.g. "amazon-ebs".
	Type string
	// Name is the HCL label, the `name` set in a build-level override, or the
	// legacy JSON "name" (default: the type).
	Name string
	// Build is the name of the build block for a build-level override
	// variant or a post-processor; "" for source blocks and legacy builders.
	Build string
	Pos   Pos
	// Options holds every attribute and nested block set on the source
	// (after build-block overrides). Attributes set to null are omitted.
	Options map[string]Value
}

// Template is what Load extracted.
type Template struct {
	// Sources are the Amazon builders: every source block once, plus one
	// variant per build-level `source "source.TYPE.NAME" { ... }` override.
	Sources []Source
	// Data are the Amazon data sources (amazon-ami, amazon-parameterstore,
	// amazon-secretsmanager, ...), which packer evaluates with the same
	// credentials as the builders.
	Data []Source
	// PostProcessors are the amazon-* post-processors (e.g. amazon-import).
	PostProcessors []Source
	// Notes are things treated conservatively or ignored, for the user.
	Notes []Note
	// AmazonPlugin is the template's required_plugins entry for
	// packer-plugin-amazon; nil when it declares none (or is legacy JSON):
	// packer then uses whatever Amazon builder it has.
	AmazonPlugin *PluginRequirement
}

// Note tells the user about something treated conservatively or ignored.
type Note struct {
	Pos     Pos
	Message string
}

// String renders the note as file:line:col: message.
func (n Note) String() string {
	if n.Pos.File == "" {
		return n.Message
	}
	return n.Pos.String() + ": " + n.Message
}

// Options are the inputs packer would get besides the template.
type Options struct {
	// Vars are -var name=value assignments. Values are HCL literal text for
	// variables of a non-string type, plain strings otherwise.
	Vars map[string]string
	// Env looks up environment variables: PKR_VAR_<name> for HCL2 variables
	// and env("X") in variable defaults. nil means an empty environment for
	// PKR_VAR_ and "unknown" for env().
	Env func(string) string
	// EnvAllowed limits what env() may read; a name it refuses reads as
	// unknown. nil allows every name. The analysis runs beside secrets
	// (the runner's tokens) that the build step never sees.
	EnvAllowed func(name string) bool
	// Filled are variables the caller sets at build time (buildrole's
	// PKR_VAR_*): an option unknown only because of them gets no note.
	Filled []string
}

// filled reports whether every var. reference in refs that makes a value
// unknown is one the caller fills, and there is at least one.
func (o Options) filled(refs []string) bool {
	for _, r := range refs {
		if name, ok := strings.CutPrefix(r, "var."); ok && slices.Contains(o.Filled, name) {
			return true
		}
	}
	return false
}

// envReader is env() as the template sees it: nil when it cannot read.
func (o Options) envReader() func(string) (string, bool) {
	if o.Env == nil {
		return nil
	}
	return func(name string) (string, bool) {
		if o.EnvAllowed != nil && !o.EnvAllowed(name) {
			return "", false
		}
		return o.Env(name), true
	}
}

// Error is a template error at a position; Error() is "file:line:col: msg".
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// AmazonBuilders are the builder types Load extracts.
var AmazonBuilders = []string{"amazon-ebs", "amazon-ebssurrogate", "amazon-ebsvolume", "amazon-instance", "amazon-chroot"}

func isAmazonBuilder(t string) bool {
	for _, b := range AmazonBuilders {
		if b == t {
			return true
		}
	}
	return false
}

// Load reads a .pkr.hcl file, a .pkr.json file, a legacy .json template, or
// a directory (all *.pkr.hcl and *.pkr.json in it plus *.auto.pkrvars.hcl
// and *.auto.pkrvars.json, like packer).
func Load(path string, opts Options) (*Template, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var t *Template
	if st.IsDir() {
		t, err = loadDir(path, opts)
	} else {
		switch {
		case strings.HasSuffix(path, ".pkr.hcl"), strings.HasSuffix(path, ".pkr.json"):
			t, err = loadHCL([]string{path}, nil, opts)
		case strings.HasSuffix(path, ".json"):
			t, err = loadLegacy(path, opts)
		case strings.HasSuffix(path, ".hcl"):
			t, err = loadHCL([]string{path}, nil, opts)
		default:
			return nil, fmt.Errorf("%s: not a Packer template: want a .pkr.hcl, .pkr.json or legacy .json file, or a directory", path)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(t.Sources) == 0 {
		t.Notes = append(t.Notes, Note{Pos: Pos{File: path}, Message: "no Amazon builder (" + strings.Join(AmazonBuilders, ", ") + ") in the template: nothing to grant for builders"})
	}
	t.Notes = dedupNotes(t.Notes)
	return t, nil
}

func loadDir(dir string, opts Options) (*Template, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files, varFiles []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n := e.Name()
		switch {
		case strings.HasSuffix(n, ".auto.pkrvars.hcl"), strings.HasSuffix(n, ".auto.pkrvars.json"):
			varFiles = append(varFiles, filepath.Join(dir, n))
		case strings.HasSuffix(n, ".pkr.hcl"), strings.HasSuffix(n, ".pkr.json"):
			files = append(files, filepath.Join(dir, n))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.pkr.hcl or *.pkr.json files in the directory", dir)
	}
	if n := len(files) + len(varFiles); n > MaxFiles {
		return nil, fmt.Errorf("%s: %d template files; buildrole reads at most %d", dir, n, MaxFiles)
	}
	// packer reads HCL files before JSON ones, each group in lexical order.
	sort.SliceStable(files, func(i, j int) bool {
		hi, hj := strings.HasSuffix(files[i], ".hcl"), strings.HasSuffix(files[j], ".hcl")
		if hi != hj {
			return hi
		}
		return files[i] < files[j]
	})
	sort.SliceStable(varFiles, func(i, j int) bool {
		hi, hj := strings.HasSuffix(varFiles[i], ".hcl"), strings.HasSuffix(varFiles[j], ".hcl")
		if hi != hj {
			return hi
		}
		return varFiles[i] < varFiles[j]
	})
	return loadHCL(files, varFiles, opts)
}

// Has reports whether the option is set (known or unknown).
func (s Source) Has(name string) bool {
	_, ok := s.Options[name]
	return ok
}

// Str returns a known scalar (string, number or bool) option as text.
func (s Source) Str(name string) (string, bool) {
	v, ok := s.Options[name]
	if !ok || !v.Known || v.List != nil || v.Map != nil || v.Blocks != nil {
		return "", false
	}
	return v.String, true
}

// Bool returns a known bool option ("true"/"false", or what
// strconv.ParseBool accepts, as legacy JSON templates may quote booleans).
func (s Source) Bool(name string) (bool, bool) {
	str, ok := s.Str(name)
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(str)
	if err != nil {
		return false, false
	}
	return b, true
}

// StrList returns a known list option. A known non-empty string is split on
// commas, as packer does when decoding legacy JSON templates.
func (s Source) StrList(name string) ([]string, bool) {
	v, ok := s.Options[name]
	if !ok || !v.Known {
		return nil, false
	}
	if v.List != nil {
		return v.List, true
	}
	if v.Map == nil && v.Blocks == nil && v.String != "" {
		parts := strings.Split(v.String, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, true
	}
	return nil, false
}

func dedupNotes(in []Note) []Note {
	seen := map[Note]bool{}
	var out []Note
	for _, n := range in {
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

func posOf(r hcl.Range) Pos {
	return Pos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

// diagsError turns the first error diagnostic into an *Error.
func diagsError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		e := &Error{Msg: msg}
		if d.Subject != nil {
			e.Pos = posOf(*d.Subject)
		}
		return e
	}
	return errors.New("unknown HCL error")
}

func diagText(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return d.Summary + ": " + d.Detail
			}
			return d.Summary
		}
	}
	return ""
}
