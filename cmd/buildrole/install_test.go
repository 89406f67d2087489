package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `go install github.com/buildrole/buildrole/cmd/buildrole@vX.Y.Z` stamps
// nothing, yet `buildrole version` names vX.Y.Z: from a local module proxy
// holding this source as that version, and the module cache's own
// downloads for the dependencies (no network).
func TestGoInstallReportsTheModuleVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds buildrole through a module proxy")
	}
	const mod, version = "github.com/buildrole/buildrole", "v1.2.3"
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	copySource(t, root, src)

	proxy := t.TempDir()
	dir := filepath.Join(proxy, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goMod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	write("list", version+"\n")
	write(version+".info", `{"Version":"`+version+`","Time":"2026-01-01T00:00:00Z"}`)
	write(version+".mod", string(goMod))
	writeModuleZip(t, filepath.Join(dir, version+".zip"), src, mod+"@"+version)

	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	modcache, bin := t.TempDir(), t.TempDir()
	t.Cleanup(func() { // the module cache is read-only
		c := exec.Command("go", "clean", "-modcache")
		c.Env = append(os.Environ(), "GOMODCACHE="+modcache)
		_ = c.Run()
	})
	cmd := exec.Command("go", "install", "-trimpath", mod+"/cmd/buildrole@"+version)
	cmd.Env = append(os.Environ(), "GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(downloads), "GOSUMDB=off",
		"GOFLAGS=", "GOMODCACHE="+modcache, "GOBIN="+bin, "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	got, err := exec.Command(filepath.Join(bin, "buildrole"), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "buildrole " + version + "\n"; string(got) != want {
		t.Errorf("buildrole version = %q, want %q", got, want)
	}
}

// writeModuleZip writes dir as a module zip: every file under prefix/.
func writeModuleZip(t *testing.T, name, dir, prefix string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(prefix + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
