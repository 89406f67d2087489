package buildpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/packertemplate"
)

// scope: tags warns, never refuses, when the template lets packer use an
// Amazon builder that creates the temporary key pair untagged.
func TestPluginTagWarnings(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../../testdata/templates/tagged.pkr.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		packer string
		warn   string // "" none
	}{
		{"", "requires no Amazon plugin"},
		{`version = ">= 1.3"`, ""},
		{`version = ">= 1.0.2, < 2"`, ""},
		{`version = "~> 1.2"`, ""},
		{`version = "1.8.2"`, ""},
		{`version = "> 1.0.1"`, ""},
		{`version = "~> 1"`, `constraint "~> 1" admits older`},
		{`version = ">= 0.0.1"`, `constraint ">= 0.0.1" admits older`},
		{`version = "< 2"`, `constraint "< 2" admits older`},
		{`version = ""`, `constraint "" admits older`},
	} {
		src := string(body)
		if c.packer != "" {
			src = "packer {\n  required_plugins {\n    amazon = {\n      source = \"github.com/hashicorp/amazon\"\n      " + c.packer + "\n    }\n  }\n}\n" + src
		}
		file := filepath.Join(t.TempDir(), "t.pkr.hcl")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		tmpl, err := packertemplate.Load(file, packertemplate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := PluginTagWarnings(tmpl)
		switch {
		case c.warn == "" && len(w) > 0:
			t.Errorf("%s: %v", c.packer, w)
		case c.warn != "" && (len(w) != 1 || !strings.Contains(w[0], c.warn) || !strings.Contains(w[0], "scope: region") || !strings.Contains(w[0], `">= 1.0.2"`)):
			t.Errorf("%s: %v, want %q", c.packer, w, c.warn)
		}
	}
}
