package ec2

import "testing"

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "acme/images", true}, {"acme/*", "acme/images", true}, {"ubuntu-?", "ubuntu-1", true},
		{"ubuntu-?", "ubuntu-10", false}, {"a.b", "axb", false}, {"packer_*", "packer_x", true}, {"packer_*", "x_packer_", false},
	} {
		if got := wildcard(c.pattern, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
