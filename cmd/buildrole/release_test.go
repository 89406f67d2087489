package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/testenv"
)

const (
	releaseVersion = "v0.0.0-repro"
	versionFlag    = "-X github.com/buildrole/buildrole/internal/cli.Version="
)

// releasePlatforms are the platforms built twice: an ELF and a PE binary,
// amd64 and arm64. The Makefile's default list adds the rest.
var releasePlatforms = [][2]string{{"linux", "amd64"}, {"windows", "arm64"}}

// `make release-binaries` gives the same bytes from checkouts at different
// paths, also with an empty build cache, and its SHA256SUMS lists exactly
// those bytes under the names the action downloads.
func TestReleaseBinariesAreReproducible(t *testing.T) {
	mk, node := releaseTools(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, p := range releasePlatforms {
		plats = append(plats, p[0]+"/"+p[1])
	}
	build := func(name string, platforms []string, env ...string) (src, dist string, files map[string][]byte) {
		src = filepath.Join(t.TempDir(), name, "buildrole")
		copySource(t, root, src)
		dist = filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command(mk, "-C", src, "release-binaries", "VERSION="+releaseVersion, "DIST="+dist, "PLATFORMS="+strings.Join(platforms, " "))
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make release-binaries in %s: %v\n%s", src, err, out)
		}
		files = map[string][]byte{}
		entries, err := os.ReadDir(dist)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dist, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return src, dist, files
	}
	srcA, distA, a := build("one", plats)
	srcB, _, b := build("two", plats)
	// From scratch: an empty build cache compiles the standard library and
	// every dependency again (one platform, as that takes minutes).
	srcC, _, c := build("three", plats[:1], "GOCACHE="+t.TempDir())
	for n, cb := range c {
		if n != "SHA256SUMS" && !bytes.Equal(cb, a[n]) {
			t.Errorf("%s differs when built with an empty build cache (%d and %d bytes)", n, len(a[n]), len(cb))
		}
	}
	if len(c) != 2 {
		t.Errorf("the build from scratch gave %d files, want a binary and SHA256SUMS", len(c))
	}

	want := assetNames(t, node, root)
	var names []string
	for n := range a {
		names = append(names, n)
	}
	slices.Sort(names)
	wantFiles := append(slices.Clone(want), "SHA256SUMS")
	slices.Sort(wantFiles)
	if !slices.Equal(names, wantFiles) {
		t.Fatalf("release files %v, want the action's asset names and SHA256SUMS: %v", names, wantFiles)
	}
	for n, ab := range a {
		if !bytes.Equal(ab, b[n]) {
			t.Errorf("%s differs between the two builds (%d and %d bytes)", n, len(ab), len(b[n]))
		}
	}

	var sums strings.Builder
	for _, n := range want {
		h := sha256.Sum256(a[n])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), n)
	}
	if got := string(a["SHA256SUMS"]); got != sums.String() {
		t.Errorf("SHA256SUMS:\n%s\nwant (the files' own hashes, sorted by name):\n%s", got, sums.String())
	}

	for _, n := range want {
		bin := a[n]
		for _, dir := range []string{srcA, srcB, srcC, root} {
			if bytes.Contains(bin, []byte(dir)) {
				t.Errorf("%s contains the build path %s", n, dir)
			}
		}
		info, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
			if strings.HasPrefix(s.Key, "vcs") {
				t.Errorf("%s carries VCS stamp %s=%s, which differs between a clone and the release tag", n, s.Key, s.Value)
			}
		}
		if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
			t.Errorf("%s: -trimpath=%q CGO_ENABLED=%q, want true and 0", n, settings["-trimpath"], settings["CGO_ENABLED"])
		}
		// -trimpath keeps -ldflags out of the build info: look at the bytes.
		if !bytes.Contains(bin, []byte(releaseVersion)) {
			t.Errorf("%s lacks the version stamp %s", n, releaseVersion)
		}
		if id := buildID(t, filepath.Join(distA, n)); id != "" {
			t.Errorf("%s has build id %q, want none", n, id)
		}
	}
}

// releaseTools are make and node on PATH, or the test ends before its
// minutes of building: skipped, or failed under BUILDROLE_TEST_REQUIRE=1
// (make test sets it).
func releaseTools(t *testing.T) (mk, node string) {
	t.Helper()
	mk = testenv.Tool(t, "make", "the release test runs `make release-binaries` and needs GNU make; make test runs it")
	node = testenv.Tool(t, "node", "the release test asks action/lib.js for the asset names it downloads, which needs Node.js 20; make test runs it")
	return mk, node
}

func buildID(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "buildid", file).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool buildid %s: %v\n%s", file, err, out)
	}
	return strings.TrimSpace(string(out))
}

// assetNames asks the action's JavaScript which file it downloads for each
// platform of the test, in the order sha256sum lists them.
func assetNames(t *testing.T, node, root string) []string {
	t.Helper()
	script := `const l = require(process.argv[1]);
for (const p of process.argv.slice(2)) {
  const [goos, goarch] = p.split('/');
  console.log(l.assetName('` + releaseVersion + `', { goos, goarch, exe: goos === 'windows' ? '.exe' : '' }));
}`
	args := []string{"-e", script, filepath.Join(root, "action", "lib.js")}
	for _, p := range releasePlatforms {
		args = append(args, p[0]+"/"+p[1])
	}
	out, err := exec.Command(node, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	names := strings.Fields(string(out))
	slices.Sort(names)
	return names
}

// copySource copies what a build reads: the module files, the Makefile and
// the Go source.
func copySource(t *testing.T, root, dst string) {
	t.Helper()
	for _, f := range []string{"go.mod", "go.sum", "Makefile"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(dst, f))
	}
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			copyFile(t, p, filepath.Join(dst, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The action's build from source and the image use the release flags, so
// what they build is what a release ships.
func TestEveryBuildUsesTheReleaseFlags(t *testing.T) {
	for _, f := range []string{"../../Makefile", "../../Dockerfile", "../../action/lib.js"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"-trimpath", "-buildvcs=false", "-s -w -buildid= " + versionFlag} {
			if !strings.Contains(string(b), flag) {
				t.Errorf("%s builds without %q", f, flag)
			}
		}
	}
}
