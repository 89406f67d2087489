package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
)

// Nearest is the name in names that s is most likely a slip of: at most
// two edits away, case ignored; "" when none is that near.
func Nearest(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := levenshtein.Distance(strings.ToLower(s), n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// UnknownInputs judges the INPUT_* variables the runner set from a step's
// `with:` (environ's entries): a name that is no input but a slip of one
// the step did not give is a typo, to refuse; any other unknown name is
// only to warn about, since a newer action.yml may declare an input this
// binary does not know.
func UnknownInputs(environ []string) (typos, others []string) {
	given := map[string]bool{}
	var unknown []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(k, "INPUT_")
		if !ok {
			continue
		}
		name := strings.ToLower(rest)
		if in, known := Lookup(name); known {
			// The runner sets every input with a default: given means a
			// value of the step's own.
			given[name] = strings.TrimSpace(v) != "" && strings.TrimSpace(v) != in.Default
		} else {
			unknown = append(unknown, name)
		}
	}
	var missing []string
	for _, in := range Inputs {
		if !given[in.Name] {
			missing = append(missing, in.Name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		if meant := Nearest(name, missing); meant != "" {
			typos = append(typos, fmt.Sprintf("%q is not an input of buildrole; did you mean %s?", name, meant))
		} else {
			others = append(others, fmt.Sprintf("%q is not an input of buildrole; it is ignored (action.yml lists the inputs)", name))
		}
	}
	return typos, others
}
