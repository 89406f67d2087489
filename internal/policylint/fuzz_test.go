package policylint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLint: the linter reports findings for any bytes, never panics, and
// every finding points inside the document.
func FuzzLint(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "lint", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, false)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, trust bool) {
		opts := LintOptions{}
		if trust {
			opts.Kind = TrustPolicy
		}
		lines := 1
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		for _, fd := range Lint("f.json", data, opts) {
			if fd.Line < 1 || fd.Line > lines || fd.Col < 1 {
				t.Fatalf("finding outside the document (%d lines): %s", lines, fd)
			}
		}
	})
}
