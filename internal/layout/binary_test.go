package layout

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// releasePlatforms are the Makefile's PLATFORMS, the binaries a release
// ships; the host's build is checked too.
var releasePlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// testOnly reports whether a standard package belongs to tests only: the
// binary users install serves `buildrole demo`'s fake AWS itself, and must
// carry no test world (httptest registers a hidden -httptest.serve flag and
// panics when it cannot listen).
func testOnly(pkg string) bool {
	return pkg == "net/http/httptest" || pkg == "testing" || strings.HasPrefix(pkg, "testing/")
}

func TestBinaryCarriesNoTestPackages(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, platform := range append([]string{"host"}, releasePlatforms...) {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			graph := binaryDeps(t, root, platform)
			main := module + "cmd/buildrole"
			if _, ok := graph[main]; !ok {
				t.Fatalf("go list -deps ./cmd/buildrole did not list %s", main)
			}
			var hits []string
			for pkg := range graph {
				if testOnly(pkg) {
					hits = append(hits, pkg)
				}
			}
			slices.Sort(hits)
			for _, pkg := range hits {
				t.Errorf("cmd/buildrole links the test package %s: %s", pkg, strings.Join(importChain(graph, main, pkg), " → "))
			}
		})
	}
}

// binaryDeps runs `go list -deps ./cmd/buildrole` for platform ("host" or
// GOOS/GOARCH, built as the Makefile's release-binaries builds) and returns
// every package of the build with its direct imports.
func binaryDeps(t *testing.T, root, platform string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./cmd/buildrole")
	cmd.Dir = root
	cmd.Env = os.Environ()
	if goos, goarch, ok := strings.Cut(platform, "/"); ok {
		cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps ./cmd/buildrole (%s): %v\n%s", platform, err, ee.Stderr)
		}
		t.Fatalf("go list -deps ./cmd/buildrole (%s): %v", platform, err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	return graph
}

// importChain is a shortest import path from one package to another in
// graph, both ends included (just [to] if there is none).
func importChain(graph map[string][]string, from, to string) []string {
	parent := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = parent[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, im := range graph[p] {
			if _, seen := parent[im]; !seen {
				parent[im] = p
				queue = append(queue, im)
			}
		}
	}
	return []string{to}
}
