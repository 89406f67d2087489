package ghaction_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/ghaction"
)

// FuzzFileCommands: any name and value the runner can take round-trip
// through the file-command format exactly, and one entry never turns into
// two; any file at all parses or fails, never panics.
func FuzzFileCommands(f *testing.F) {
	f.Add("AWS_REGION", "us-east-1", "")
	f.Add("policy", "{\n  \"Version\": \"2012-10-17\"\n}\n", "x=1\ny<<EOF\nz\nEOF\n")
	f.Add("A", "ghadelimiter_\nB=2", "A<<D\n")
	f.Fuzz(func(t *testing.T, name, value, file string) {
		_, _ = ghaction.ParseFileCommands(file)
		path := filepath.Join(t.TempDir(), "env")
		r := ghaction.New(func(k string) string {
			if k == "GITHUB_ENV" {
				return path
			}
			return ""
		}, io.Discard, nil)
		if err := r.SetEnv(name, value); err != nil {
			if name == "" || strings.ContainsAny(name, "\r\n=<") {
				return // refused as it must be
			}
			t.Fatalf("SetEnv(%q, %q): %v", name, value, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ghaction.ParseFileCommands(string(b))
		if err != nil {
			t.Fatalf("parse what SetEnv wrote: %v\n%q", err, b)
		}
		if len(got) != 1 || got[name] != value {
			t.Fatalf("SetEnv(%q, %q) reads back as %q", name, value, got)
		}
	})
}
