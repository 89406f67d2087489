// Package testenv decides, for tests only, what a test does when something
// it needs from outside Go is missing (node, test/iamsim's npm packages, make,
// Debian's packer, packer 1.9.5 and its Amazon plugin, which PackerStack
// builds once into the user's cache directory): it is skipped with one line
// saying what is missing and how to get it, or, with BUILDROLE_TEST_REQUIRE=1 (make test sets it, and
// so CI), it fails with that line. Only _test.go files import it; it
// imports no buildrole package.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Require is the switch: "1" makes every missing tool a failure.
const Require = "BUILDROLE_TEST_REQUIRE"

// Missing ends t for want of what why names (and says how to get): a
// skip, or a failure when Require is "1".
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(Require) == "1" {
		t.Fatalf("%s (%s=1: required)", why, Require)
	}
	t.Skip(why)
}

// Tool is the path of the program name on PATH; when there is none, it
// ends t with Missing(name + " not found: " + how).
func Tool(t testing.TB, name, how string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found: "+how)
	}
	return path
}
