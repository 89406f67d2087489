package csm

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/packertemplate"
)

// Entry is one reason buildrole's Packer catalogue grants an action.
type Entry struct {
	Sid string `json:"sid"` // the statement of the build role's policy
	// When names the template options and the packer-plugin-amazon step,
	// as the catalogue words them.
	When     string   `json:"when"`
	Builders []string `json:"builders,omitempty"` // nil: a data source
	Always   bool     `json:"always,omitempty"`   // every build of these builders gets it
}

// catalogueFor returns the catalogue's reasons for action, most specific
// first.
func catalogueFor(action string) []Entry { return catalogueIndex()[strings.ToLower(action)] }

// The catalogue is read through buildpolicy.Derive alone: a source of each
// builder with no options, then with one option set to a value unknown
// before the build, which the catalogue treats as set. What the option adds
// to a statement is its row. An option that acts only beside another is
// set over that other one.
type probe struct {
	on, over map[string]packertemplate.Value
}

var probes = func() []probe {
	unknown := packertemplate.Value{}
	block := func(fields ...string) packertemplate.Value {
		b := map[string]packertemplate.Value{}
		for _, f := range fields {
			b[f] = unknown
		}
		return packertemplate.Value{Blocks: []map[string]packertemplate.Value{b}}
	}
	one := func(name string, v packertemplate.Value) map[string]packertemplate.Value {
		return map[string]packertemplate.Value{name: v}
	}
	var out []probe
	for _, name := range []string{
		"ami_regions", "encrypt_boot", "skip_build_region", "ami_users", "snapshot_users", "deprecate_at",
		"force_deregister", "ena_support", "tags", "run_tags", "run_volume_tags", "root_volume_tags",
		"communicator", "kms_key_id", "ssh_interface", "vpc_filter", "vpc_id", "subnet_filter",
		"associate_public_ip_address", "use_create_image", "spot_price",
	} {
		out = append(out, probe{on: one(name, unknown)})
	}
	return append(out,
		probe{on: one("force_delete_snapshot", unknown), over: one("force_deregister", unknown)},
		probe{on: one("ssh_private_key_file", unknown), over: one("ssh_interface", unknown)},
		probe{on: one("ebs_volumes", block())},
		probe{on: one("ebs_volumes", block("snapshot_volume")), over: one("ebs_volumes", block())},
		probe{on: one("ebs_volumes", block("snapshot_users")), over: one("ebs_volumes", block())},
		probe{on: one("run_volume_tags", unknown), over: one("ebs_volumes", block())},
		probe{on: one("fast_launch", block("enable_fast_launch"))},
		probe{on: one("deregistration_protection", block("enabled"))},
	)
}()

// dataSources the catalogue grants permissions for.
var dataSources = []string{"amazon-parameterstore", "amazon-secretsmanager"}

// sidGrant is one statement of a derived policy: its reasons and actions.
type sidGrant struct{ why, actions []string }

func derive(t *packertemplate.Template) map[string]sidGrant {
	d := buildpolicy.Derive(t, awsfacts.PartitionAWS, "123456789012", "us-east-1")
	out := map[string]sidGrant{}
	for _, g := range d.Grants {
		var why []string
		for _, w := range g.Why {
			// "amazon-ebs.probe: ami_regions (...)" → "ami_regions (...)"
			if _, rest, ok := strings.Cut(w, ".probe: "); ok {
				w = rest
			} else {
				w = strings.Replace(w, ".probe ", " ", 1)
			}
			why = append(why, w)
		}
		out[g.Sid] = sidGrant{why: why, actions: g.Actions}
	}
	return out
}

func source(builder string, opts map[string]packertemplate.Value) *packertemplate.Template {
	return &packertemplate.Template{Sources: []packertemplate.Source{{Type: builder, Name: "probe", Options: opts}}}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

var catalogueIndex = sync.OnceValue(func() map[string][]Entry {
	type key struct{ action, sid, when string }
	found := map[key]*Entry{}
	var keys []key
	add := func(action, sid, when, builder string, always bool) {
		k := key{strings.ToLower(action), sid, when}
		e := found[k]
		if e == nil {
			e = &Entry{Sid: sid, When: when, Always: always}
			found[k] = e
			keys = append(keys, k)
		}
		if builder != "" && !slices.Contains(e.Builders, builder) {
			e.Builders = append(e.Builders, builder)
		}
	}
	for _, b := range packertemplate.AmazonBuilders {
		base := derive(source(b, map[string]packertemplate.Value{}))
		for sid, g := range base {
			for _, a := range g.actions {
				add(a, sid, strings.Join(g.why, "; "), b, true)
			}
		}
		for _, p := range probes {
			before := base
			if p.over != nil {
				before = derive(source(b, p.over))
			}
			opts := maps.Clone(p.over)
			if opts == nil {
				opts = map[string]packertemplate.Value{}
			}
			maps.Copy(opts, p.on)
			for sid, g := range derive(source(b, opts)) {
				newWhy := minus(g.why, before[sid].why)
				if len(newWhy) == 0 {
					continue
				}
				for _, a := range minus(g.actions, before[sid].actions) {
					add(a, sid, strings.Join(newWhy, "; "), b, false)
				}
			}
		}
	}
	for _, ds := range dataSources {
		t := source("amazon-ebs", map[string]packertemplate.Value{})
		base := derive(t)
		t.Data = []packertemplate.Source{{Type: ds, Name: "probe"}}
		for sid, g := range derive(t) {
			if _, ok := base[sid]; !ok {
				for _, a := range g.actions {
					add(a, sid, strings.Join(g.why, "; "), "", false)
				}
			}
		}
	}
	// A reason that is some action's own row elsewhere explains that
	// action, not the others a probe added beside it.
	own := map[[2]string]bool{}
	for _, k := range keys {
		if !found[k].Always && !strings.Contains(k.when, "; ") {
			own[[2]string{k.sid, k.when}] = true
		}
	}
	idx := map[string][]Entry{}
	for _, k := range keys {
		e := *found[k]
		if parts := strings.Split(e.When, "; "); !e.Always && len(parts) > 1 {
			if slices.ContainsFunc(parts, func(w string) bool { return found[key{k.action, k.sid, w}] != nil }) {
				continue // the action has a row of its own
			}
			var rest []string
			for _, w := range parts {
				if !own[[2]string{e.Sid, w}] {
					rest = append(rest, w)
				}
			}
			if len(rest) == 0 {
				continue
			}
			e.When = strings.Join(rest, "; ")
		}
		if !slices.ContainsFunc(idx[k.action], func(o Entry) bool { return o.Sid == e.Sid && o.When == e.When }) {
			idx[k.action] = append(idx[k.action], e)
		}
	}
	for a, es := range idx {
		// Conditional rows first (they say which option to set), and of
		// those the ones that name a single reason.
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].Always != es[j].Always {
				return !es[i].Always
			}
			return strings.Count(es[i].When, "; ") < strings.Count(es[j].When, "; ")
		})
		idx[a] = es
	}
	return idx
})
