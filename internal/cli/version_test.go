package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionFallsBackToTheModuleVersion(t *testing.T) {
	t.Parallel()
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: v}}, true }
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, c := range []struct {
		stamped string
		read    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.2.3", info("v9.9.9"), "v1.2.3"}, // release builds stamp the version
		{"dev", info("v1.2.3"), "v1.2.3"},    // go install ...@v1.2.3
		{"dev", info("(devel)"), "dev"},      // go build in a checkout
		{"dev", none, "dev"},
	} {
		if got := version(c.stamped, c.read); got != c.want {
			t.Errorf("version(%q) = %q, want %q", c.stamped, got, c.want)
		}
	}
}
