package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionFallsBackToTheModuleVersion(t *testing.T) {
	t.Parallel()
	mod := func(v string) *debug.BuildInfo { return &debug.BuildInfo{Main: debug.Module{Version: v}} }
	for _, c := range []struct {
		stamped string
		info    *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"v1.2.3", mod("v9.9.9"), true, "v1.2.3"}, // release builds stamp the version
		{"dev", mod("v1.2.3"), true, "v1.2.3"},    // go install ...@v1.2.3
		{"dev", mod("(devel)"), true, "dev"},      // go build in a checkout
		{"dev", nil, false, "dev"},
	} {
		if got := versionOf(c.stamped, c.info, c.ok); got != c.want {
			t.Errorf("versionOf(%q, %v) = %q, want %q", c.stamped, c.info, got, c.want)
		}
	}
}
