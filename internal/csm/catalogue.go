package csm

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/buildrole/buildrole/internal/buildpolicy"
)

// Entry is one reason buildrole's Packer catalogue grants an action: a row
// of buildpolicy.Rows, or the rows every build of the same builders gets
// in one statement.
type Entry struct {
	Sid string `json:"sid"` // the statement of the build role's policy
	// When names the template options and the packer-plugin-amazon step,
	// as the catalogue words them.
	When     string   `json:"when"`
	Builders []string `json:"builders,omitempty"` // nil: a data source
	Always   bool     `json:"always,omitempty"`   // every build of these builders gets it
}

// catalogueFor returns the catalogue's reasons for action: the rows that
// need an option first (they say what to set), then those every build of
// their builders gets, each in the catalogue's order.
func catalogueFor(action string) []Entry {
	return slices.Clone(catalogueIndex()[strings.ToLower(action)])
}

// catalogueIndex maps each action, lower-cased, to its rows. The rows every
// build of the same builders gets in the same statement make one entry,
// their reasons joined by "; ".
var catalogueIndex = sync.OnceValue(func() map[string][]Entry {
	idx := map[string][]Entry{}
	for _, r := range buildpolicy.Rows() {
		e := Entry{Sid: r.Sid, When: r.Reason(), Builders: r.Builders, Always: r.Always}
		for _, a := range r.Actions {
			l := strings.ToLower(a)
			i := slices.IndexFunc(idx[l], func(o Entry) bool {
				return e.Always && o.Always && o.Sid == e.Sid && slices.Equal(o.Builders, e.Builders)
			})
			if i < 0 {
				idx[l] = append(idx[l], e)
			} else {
				idx[l][i].When += "; " + e.When
			}
		}
	}
	for _, es := range idx {
		sort.SliceStable(es, func(i, j int) bool { return !es[i].Always && es[j].Always })
	}
	return idx
})
