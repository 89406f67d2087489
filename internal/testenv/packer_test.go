package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The stack PackerStack hands out is the one asked for: packer 1.9.5, and
// the plugin where packer 1.9.5 looks for it, with its checksum beside it.
// make packer-stack runs this test alone, with a long timeout, to build it.
func TestPackerStack(t *testing.T) {
	packer, plugins := PackerStack(t)
	cmd := exec.Command(packer, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil || !strings.HasPrefix(string(out), "Packer v1.9.5") {
		t.Fatalf("packer version: %q %v", out, err)
	}
	plugin := filepath.Join(plugins, "github.com", "hashicorp", "amazon", "packer-plugin-amazon_v1.8.2_x5.0_"+runtime.GOOS+"_"+runtime.GOARCH)
	if !built(packer, plugin) {
		t.Fatalf("%s or its _SHA256SUM is missing or wrong", plugin)
	}
}
