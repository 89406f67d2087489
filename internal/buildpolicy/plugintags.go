package buildpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// TaggingPlugin is the first packer-plugin-amazon release that puts
// run_tags on the temporary key pair and security group in the requests
// that create them (its changelog, 1.0.2: tag specifications on supported
// resources). Earlier Amazon builders, and those built into packer before
// the plugin (1.6.6 among them), create both untagged: scope: tags
// refuses their CreateKeyPair.
var TaggingPlugin = [3]int{1, 0, 2}

// PluginTagWarnings say, for scope: tags, when the template does not make
// packer use an Amazon builder that tags on create. Only a warning: which
// plugin packer loads is decided on the runner (packer init, the plugin
// directory), not in the template.
func PluginTagWarnings(t *packertemplate.Template) []string {
	i := slices.IndexFunc(t.Sources, func(s packertemplate.Source) bool { return !packertemplate.LegacyJSON(s.Pos.File) })
	if i < 0 {
		return nil // legacy JSON is refused by TagScopeErrors
	}
	want := fmt.Sprintf("%d.%d.%d", TaggingPlugin[0], TaggingPlugin[1], TaggingPlugin[2])
	fix := fmt.Sprintf("require it in the template (packer { required_plugins { amazon = { source = %q, version = \">= %s\" } } }, then packer init), or use scope: region", packertemplate.AmazonPluginSource, want)
	p := t.AmazonPlugin
	if p == nil {
		return []string{fmt.Sprintf("%s: scope: tags needs packer-plugin-amazon >= %s, which tags the temporary key pair and security group when it creates them; the template requires no Amazon plugin, so packer may use an older Amazon builder (packer 1.6.6's own creates them untagged, and the build is refused at CreateKeyPair): %s", t.Sources[i].Pos, want, fix)}
	}
	if !lowerBoundAtLeast(p.Version, TaggingPlugin) {
		return []string{fmt.Sprintf("%s: scope: tags needs packer-plugin-amazon >= %s, which tags the temporary key pair and security group when it creates them; the template's version constraint %q admits older releases, which create them untagged (the build is refused at CreateKeyPair): %s", p.Pos, want, p.Version, fix)}
	}
	return nil
}

// lowerBoundAtLeast says whether a version constraint ("~> 1.2",
// ">= 1.0.2, < 2") admits no version below min. What it cannot read
// admits anything.
func lowerBoundAtLeast(constraint string, min [3]int) bool {
	for _, c := range strings.Split(constraint, ",") {
		c = strings.TrimSpace(c)
		op := ""
		for _, o := range []string{">=", "~>", ">", "="} {
			if strings.HasPrefix(c, o) {
				op = o
				break
			}
		}
		if op == "" && (strings.HasPrefix(c, "<") || strings.HasPrefix(c, "!")) {
			continue
		}
		v, ok := parseVersion(strings.TrimSpace(strings.TrimPrefix(c, op)))
		if ok && !less(v, min) {
			return true
		}
		// "> 1.0.1" admits nothing below 1.0.2 either.
		if ok && op == ">" && v == [3]int{min[0], min[1], min[2] - 1} && min[2] > 0 {
			return true
		}
	}
	return false
}

func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	s = strings.TrimPrefix(s, "v")
	s, _, _ = strings.Cut(s, "-")
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
