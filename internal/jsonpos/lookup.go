package jsonpos

import (
	"cmp"
	"slices"
	"strings"
)

// Member returns the member encoding/json reads for key when it decodes
// the object into a map: the last one written with exactly this key. It
// returns nil when there is none or n is not an object (n may be nil).
func (n *Node) Member(key string) *Member {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			return &n.Members[i]
		}
	}
	return nil
}

// Get is the value of Member(key), or nil.
func (n *Node) Get(key string) *Node {
	if m := n.Member(key); m != nil {
		return m.Val
	}
	return nil
}

// Field returns the member a struct decoder that prefers the exact key
// reads for the field name: the last member with exactly that key, else
// the last whose key equals it under Unicode case folding
// (strings.EqualFold). This is mapstructure's match, which Packer decodes
// a legacy JSON template's sections and a plugin's options with; several
// keys that match only by case make such a decoder refuse the object (an
// unused key), so which of them Field returns matters to no build.
func (n *Node) Field(name string) *Member {
	if m := n.Member(name); m != nil {
		return m
	}
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := len(n.Members) - 1; i >= 0; i-- {
		if strings.EqualFold(n.Members[i].Key, name) {
			return &n.Members[i]
		}
	}
	return nil
}

// Effective returns the members that count, in the order written: every
// member but the shadowed ones, so each key once, with its last value.
func (n *Node) Effective() []Member {
	if n == nil || n.Kind != Object {
		return nil
	}
	out := make([]Member, 0, len(n.Members))
	for _, m := range n.Members {
		if !m.Shadowed {
			out = append(out, m)
		}
	}
	return out
}

// Duplicate is a key written more than once in one object.
type Duplicate struct {
	// Object is the object the key is repeated in.
	Object *Node
	Key    string
	// Offs are the offsets of every occurrence of the key, in the order
	// written; the last one counts.
	Offs []int
}

// Duplicates lists the keys written more than once in n and in every value
// nested in it, in the order of their first occurrence.
func (n *Node) Duplicates() []Duplicate {
	var out []Duplicate
	n.walk(func(o *Node) {
		var seen map[string]int // key -> index in out
		for _, m := range o.Members {
			if !m.Shadowed {
				if i, ok := seen[m.Key]; ok {
					out[i].Offs = append(out[i].Offs, m.KeyOff)
				}
				continue
			}
			if i, ok := seen[m.Key]; ok {
				out[i].Offs = append(out[i].Offs, m.KeyOff)
				continue
			}
			if seen == nil {
				seen = map[string]int{}
			}
			seen[m.Key] = len(out)
			out = append(out, Duplicate{Object: o, Key: m.Key, Offs: []int{m.KeyOff}})
		}
	})
	slices.SortFunc(out, func(a, b Duplicate) int { return cmp.Compare(a.Offs[0], b.Offs[0]) })
	return out
}

// walk calls f for every object in n, parents before children.
func (n *Node) walk(f func(*Node)) {
	if n == nil {
		return
	}
	switch n.Kind {
	case Object:
		f(n)
		for _, m := range n.Members {
			m.Val.walk(f)
		}
	case Array:
		for _, e := range n.Elems {
			e.walk(f)
		}
	}
}
