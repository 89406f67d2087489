package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/buildrole/buildrole/internal/cli"
)

// Templates and policies that would exhaust memory, hang or overflow a
// parser's stack are refused as bad input (exit 2) before any AWS call.
func TestHostileTemplatesAndPoliciesAreBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zero := filepath.Join(dir, "zero.pkr.hcl")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.pkr.hcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	nestedBlocks := "source \"amazon-ebs\" \"x\" {\n" + strings.Repeat("a {\n", 50000) + strings.Repeat("}\n", 50000) + "}\n"
	validHuge := "source \"amazon-ebs\" \"x\" {\n  region = \"us-east-1\"\n" + strings.Repeat("  tags = { a = \"b\" }\n", 500000) + "}\n"
	cases := []struct{ input, value, want string }{
		{"template", zero, "not a regular file"},
		{"template", fifo, "not a regular file"},
		{"template", write("big.json", append([]byte(`{"builders":[`), make([]byte, 100<<20)...)), "at most 524288"},
		{"template", write("brackets.pkr.json", []byte(strings.Repeat("[", 200000))), "nested more than 64"},
		{"template", write("blocks.pkr.hcl", []byte(nestedBlocks)), "nested more than 64"},
		{"template", write("huge.pkr.hcl", []byte(validHuge)), "at most 524288"},
		{"extra-policy", strings.Repeat("[", 100000), "nested more than 32"},
		{"extra-policy", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + strings.Repeat("a", 200<<10) + `"}`, "a policy document is read up to"},
		{"instance-policy", `{"Version":"2012-10-17","Statement":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}", "nested more than 32"},
	}
	for _, c := range cases {
		t.Run(c.input+"/"+trim(c.want), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.set("INPUT_"+strings.ToUpper(c.input), c.value)
			code, stdout, _ := w.run(context.Background(), "up")
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d:\n%.2000s", code, cli.ExitUsage, stdout)
			}
			if !strings.Contains(stdout, c.want) {
				t.Errorf("message lacks %q:\n%.2000s", c.want, stdout)
			}
			if len(stdout) > 20000 {
				t.Errorf("the message is %d bytes; the input must not be echoed", len(stdout))
			}
			if n := len(w.srv.Requests()); n != 0 {
				t.Errorf("%d AWS calls, want 0", n)
			}
		})
	}
}

// A panic is a bug, not bad input: exit 4 with a report, never Go's exit 2.
func TestPanicIsAnInternalError(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	code := cli.Main(context.Background(), []string{"buildrole", "version"}, cli.Env{Stdout: panicWriter{}, Stderr: &out, Getenv: func(string) string { return "" }})
	if code != cli.ExitInternal || !strings.Contains(out.String(), "internal error") || !strings.Contains(out.String(), "bug") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("injected") }
