//go:build !windows

package cli_test

import (
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/testenv"
)

// pluginStack is packer 1.9.5 loading packer-plugin-amazon 1.8.2, with
// the template naming fakeaws's EC2 endpoint.
func pluginStack(t *testing.T) packerClient {
	t.Helper()
	packer, plugins := testenv.PackerStack(t)
	return packerClient{packer: packer, env: []string{"PACKER_PLUGIN_PATH=" + plugins}, endpoint: true}
}

// packer-plugin-amazon 1.8.2 tags its temporary key pair and security
// group, the instance and its volumes, the AMI and its snapshots in the
// requests that create them, so scope: tags builds with it: every call
// allowed at once, and the AMI and its snapshots carry the run's id.
func TestPluginBuildsAnAMIUnderScopeTags(t *testing.T) {
	p := startPackerBuildWith(t, pluginStack(t), fakeaws.PackerBuild{SkipSTSAndIAM: true, AmazonPlugin: ">= 1.3"}, map[string]string{"INPUT_SCOPE": "tags"})
	ami := p.buildsOneAMI(t)
	for _, c := range p.calls() {
		if !strings.HasSuffix(c, ":") {
			t.Errorf("refused or failed: %s", c)
		}
	}
	if ami.Tags["buildrole:run-id"] != p.runID {
		t.Errorf("AMI tags %v, want the run's id %s", ami.Tags, p.runID)
	}
	mine := map[string]bool{}
	for _, d := range ami.Devices {
		mine[d.SnapshotID] = true
	}
	for _, s := range p.w.srv.EC2().Snapshots() {
		if mine[s.ID] && s.Tags["buildrole:run-id"] != p.runID {
			t.Errorf("snapshot %s tags %v, want the run's id", s.ID, s.Tags)
		}
	}
}
