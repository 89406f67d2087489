package packertemplate

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzLoad feeds data to Load as a file with the given name: whatever the
// bytes, Load returns a template or an error, never a panic, and within the
// limits.
func fuzzLoad(f *testing.F, name string, seeds ...string) {
	for _, s := range seeds {
		matches, _ := filepath.Glob(s)
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tmpl, err := Load(path, Options{Vars: map[string]string{"x": "y"}, Env: func(string) string { return "" }})
		if err == nil && tmpl == nil {
			t.Fatal("Load returned neither a template nor an error")
		}
	})
}

func FuzzLoadHCL(f *testing.F) {
	fuzzLoad(f, "t.pkr.hcl", "../../testdata/templates/*.pkr.hcl", "testdata/*.pkr.hcl")
}

func FuzzLoadHCLJSON(f *testing.F) {
	fuzzLoad(f, "t.pkr.json", "testdata/*.pkr.json")
	f.Add([]byte(`{"source":{"amazon-ebs":{"x":{"region":"us-east-1"}}}}`))
}

func FuzzLoadLegacyJSON(f *testing.F) {
	fuzzLoad(f, "t.json", "../../testdata/templates/*.json")
}
