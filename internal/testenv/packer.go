package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Today's Packer client stack, built from the Go module proxy: the newest
// MPL release of packer and the Amazon plugin packer init installs for
// ">= 1.3", whose amazon-ebs builder is on the AWS SDK for Go v2.
const (
	PackerVersion       = "v1.9.5"
	AmazonPluginVersion = "v1.8.2"
	// The plugin's go.mod replaces go-cty; a module that requires the
	// plugin must say it too.
	pluginReplace = "github.com/zclconf/go-cty => github.com/nywilken/go-cty v1.13.3"
	// buildWait bounds the wait for another test process's build.
	buildWait = 45 * time.Minute
)

// PackerStack returns packer 1.9.5 and the PACKER_PLUGIN_PATH holding
// packer-plugin-amazon 1.8.2 as `packer plugins install --path` lays it
// out (with its _SHA256SUM), building both with `go build` the first time
// into the user's cache directory (BUILDROLE_TEST_CACHE overrides it),
// where later runs and clean checkouts find them. Only under Require=1
// does it build (minutes on two cores; make packer-stack, a step of make
// test, does it first); otherwise, or without go, or when the build fails,
// it ends t with Missing.
func PackerStack(t testing.TB) (packer, pluginPath string) {
	t.Helper()
	dir, err := stackDir()
	if err != nil {
		Missing(t, "packer "+PackerVersion+": no cache directory: "+err.Error())
	}
	packer = filepath.Join(dir, "packer")
	pluginPath = filepath.Join(dir, "plugins")
	plugin := filepath.Join(pluginPath, "github.com", "hashicorp", "amazon",
		fmt.Sprintf("packer-plugin-amazon_%s_x5.0_%s_%s", AmazonPluginVersion, runtime.GOOS, runtime.GOARCH))
	if built(packer, plugin) {
		return packer, pluginPath
	}
	if os.Getenv(Require) != "1" {
		// A build takes minutes: plain go test does not start one.
		Missing(t, fmt.Sprintf("packer %s with packer-plugin-amazon %s is not built in %s: make packer-stack (or make test) builds it from the Go module proxy", PackerVersion, AmazonPluginVersion, dir))
	}
	goBin := Tool(t, "go", "packer "+PackerVersion+" and packer-plugin-amazon "+AmazonPluginVersion+" are built with go from the Go module proxy")
	unlock, err := lock(dir)
	if err != nil {
		Missing(t, err.Error())
	}
	defer unlock()
	if built(packer, plugin) {
		return packer, pluginPath
	}
	t.Logf("building packer %s and packer-plugin-amazon %s into %s (minutes, once)", PackerVersion, AmazonPluginVersion, dir)
	if err := goBuild(goBin, "github.com/hashicorp/packer", PackerVersion, "", packer); err != nil {
		Missing(t, err.Error())
	}
	if err := goBuild(goBin, "github.com/hashicorp/packer-plugin-amazon", AmazonPluginVersion, pluginReplace, plugin); err != nil {
		Missing(t, err.Error())
	}
	sum, err := fileSum(plugin)
	if err == nil {
		err = os.WriteFile(plugin+"_SHA256SUM", []byte(sum), 0o644)
	}
	if err != nil {
		Missing(t, err.Error())
	}
	return packer, pluginPath
}

func stackDir() (string, error) {
	root := os.Getenv("BUILDROLE_TEST_CACHE")
	if root == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		root = filepath.Join(c, "buildrole-test")
	}
	dir := filepath.Join(root, fmt.Sprintf("packer-%s-amazon-%s-%s-%s", PackerVersion, AmazonPluginVersion, runtime.GOOS, runtime.GOARCH))
	return dir, os.MkdirAll(dir, 0o755)
}

// built reports whether both binaries are in place and the plugin's
// checksum file matches it (a build cut short leaves neither).
func built(packer, plugin string) bool {
	if st, err := os.Stat(packer); err != nil || st.Mode()&0o111 == 0 {
		return false
	}
	want, err := os.ReadFile(plugin + "_SHA256SUM")
	if err != nil {
		return false
	}
	got, err := fileSum(plugin)
	return err == nil && got == strings.TrimSpace(string(want))
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lock keeps two test processes from building at once: a directory made
// atomically, taken over when older than buildWait (a build killed).
func lock(dir string) (func(), error) {
	l := filepath.Join(dir, "building")
	deadline := time.Now().Add(buildWait)
	for {
		err := os.Mkdir(l, 0o755)
		if err == nil {
			return func() { os.Remove(l) }, nil
		}
		if st, serr := os.Stat(l); serr == nil && time.Since(st.ModTime()) > buildWait {
			os.Remove(l)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("packer %s: another build holds %s since more than %s", PackerVersion, l, buildWait)
		}
		time.Sleep(2 * time.Second)
	}
}

// goBuild builds module@version's main package into out, from a module
// of its own in a temporary directory, through the Go module proxy.
func goBuild(goBin, module, version, replace, out string) error {
	tmp, err := os.MkdirTemp("", "buildrole-packer-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	goVersion, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		return fmt.Errorf("go env GOVERSION: %w", err)
	}
	mod := fmt.Sprintf("module buildroletest/build\n\ngo %s\n\nrequire %s %s\n", strings.TrimPrefix(strings.TrimSpace(string(goVersion)), "go"), module, version)
	if replace != "" {
		mod += "\nreplace " + replace + "\n"
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.Command(goBin, "build", "-o", out+".tmp", module)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s@%s: %w\n%s", module, version, err, tail(b))
	}
	return os.Rename(out+".tmp", out)
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
