package layout

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/buildrole/buildrole/"

// allowed lists, for every package, the buildrole packages it may import.
// Dependencies point one way: cmd → cli → provision/stsauth/ghaction/csm →
// planner → config → domain packages → run → the policy language and
// AWS's facts. A new package or import starts here, and in
// docs/ARCHITECTURE.md.
var allowed = map[string][]string{
	"cmd/buildrole":                           {"internal/cli"},
	"internal/cli":                            {"*"},
	"internal/provision":                      {"internal/run", "internal/awsfacts"},
	"internal/leftovers":                      {"internal/run", "internal/awsfacts"},
	"internal/stsauth":                        {"internal/awsfacts"},
	"internal/ghaction":                       {},
	"internal/planner":                        {"internal/config", "internal/accountsetup", "internal/buildpolicy", "internal/policylint", "internal/run", "internal/iampolicy"},
	"internal/config":                         {"internal/awsfacts", "internal/accountsetup", "internal/buildpolicy", "internal/policylint", "internal/packertemplate", "internal/naming", "internal/run", "internal/iampolicy", "internal/safefile"},
	"internal/accountsetup":                   {"internal/awsfacts", "internal/buildpolicy", "internal/naming", "internal/run", "internal/iampolicy"},
	"internal/buildpolicy":                    {"internal/awsfacts", "internal/packertemplate", "internal/run", "internal/iampolicy"},
	"internal/policylint":                     {"internal/awsfacts", "internal/iampolicy", "internal/jsonpos", "internal/run"},
	"internal/packertemplate":                 {"internal/safefile", "internal/jsonpos"},
	"internal/naming":                         {"internal/run", "internal/awsfacts"},
	"internal/run":                            {"internal/iampolicy", "internal/awsfacts"},
	"internal/iampolicy":                      {"internal/safefile", "internal/jsonpos"},
	"internal/awsfacts":                       {},
	"internal/fakeaws":                        {"internal/fakeaws/authz", "internal/fakeaws/ghoidc", "internal/fakeaws/ec2", "internal/fakeaws/internal/loopback", "internal/fakeaws/internal/sigv4"},
	"internal/fakeaws/authz":                  {},
	"internal/fakeaws/ghoidc":                 {},
	"internal/fakeaws/ec2":                    {},
	"internal/fakeaws/internal/loopback":      {},
	"internal/fakeaws/internal/sigv4":         {},
	"internal/csm":                            {"internal/awsfacts", "internal/buildpolicy", "internal/iampolicy"},
	"internal/procrun":                        {},
	"internal/credserve":                      {},
	"internal/runcreds":                       {"internal/credserve", "internal/stsauth", "internal/provision", "internal/ghaction", "internal/run", "internal/awsfacts"},
	"internal/wiretap":                        {"internal/awsfacts"},
	"internal/observe":                        {"internal/wiretap", "internal/csm", "internal/safefile"},
	"internal/demo":                           {"internal/fakeaws", "internal/accountsetup", "internal/ghaction"},
	"internal/layout":                         {},
	"internal/safefile":                       {},
	"internal/jsonpos":                        {},
	"internal/testenv":                        {},
	"internal/policylint/internal/genactions": {},
}

// pure packages compute; they must not reach AWS.
var pure = []string{"internal/awsfacts", "internal/run", "internal/planner", "internal/config", "internal/accountsetup", "internal/buildpolicy", "internal/policylint", "internal/packertemplate", "internal/naming", "internal/iampolicy"}

// maxLines is a sanity bound, not a budget: a package is as large as its
// one responsibility needs.
const maxLines = 3000

type pkg struct {
	dir       string
	imports   map[string]bool // every import path of non-test files
	lines     int             // hand-written non-test lines
	hasDoc    bool
	generated []string
}

func load(t *testing.T) map[string]*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := pkgs[rel]
		if p == nil {
			p = &pkg{dir: rel, imports: map[string]bool{}}
			pkgs[rel] = p
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") || f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
			p.hasDoc = true
		}
		for _, im := range f.Imports {
			v, _ := strconv.Unquote(im.Path.Value)
			p.imports[v] = true
		}
		n, gen, err := countLines(path)
		if err != nil {
			return err
		}
		if gen {
			p.generated = append(p.generated, filepath.Base(path))
		} else {
			p.lines += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// countLines counts lines and spots the generated-file marker Go tools
// recognise (https://go.dev/s/generatedcode).
func countLines(path string) (int, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	n, gen := 0, false
	for s.Scan() {
		n++
		l := s.Text()
		if strings.HasPrefix(l, "// Code generated ") && strings.HasSuffix(l, " DO NOT EDIT.") {
			gen = true
		}
	}
	return n, gen, s.Err()
}

func TestDependenciesPointOneWay(t *testing.T) {
	pkgs := load(t)
	for dir, p := range pkgs {
		ok, known := allowed[dir]
		if !known {
			t.Errorf("%s: not in the layout table; add it to allowed (and to docs/ARCHITECTURE.md)", dir)
			continue
		}
		for im := range p.imports {
			rel, ours := strings.CutPrefix(im, module)
			switch {
			case !ours:
			case rel == "internal/testenv":
				t.Errorf("%s imports internal/testenv, which only _test.go files may", dir)
			case !slices.Contains(ok, "*") && !slices.Contains(ok, rel):
				t.Errorf("%s imports %s, against the layering (allowed: %v)", dir, rel, ok)
			}
		}
	}
	for dir := range allowed {
		if pkgs[dir] == nil {
			t.Errorf("%s is in the layout table but not in the repository", dir)
		}
	}
}

func TestPurePackagesDoNotReachAWS(t *testing.T) {
	pkgs := load(t)
	for _, dir := range pure {
		for im := range pkgs[dir].imports {
			if strings.HasPrefix(im, "github.com/aws/") || im == "net/http" || im == "net" && dir != "internal/config" {
				t.Errorf("%s imports %s: it must stay pure", dir, im)
			}
		}
	}
}

func TestPackagesSmallAndDocumented(t *testing.T) {
	pkgs := load(t)
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages; the walk is broken", len(pkgs))
	}
	for dir, p := range pkgs {
		if p.lines > maxLines {
			t.Errorf("%s: %d hand-written lines, over %d: does it still have one responsibility?", dir, p.lines, maxLines)
		}
		if !p.hasDoc {
			t.Errorf("%s: no package doc comment saying what it owns and what it must not depend on", dir)
		}
	}
	if g := pkgs["internal/policylint"].generated; !slices.Contains(g, "actions_gen.go") {
		t.Errorf("internal/policylint/actions_gen.go is not marked as generated (found %v)", g)
	}
}

// docs/ARCHITECTURE.md names every package, README links it, and nothing in
// the repository points outside it (a reader who clones it has nothing else).
func TestArchitectureDocumentCoversThePackages(t *testing.T) {
	arch, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	for dir := range allowed {
		if strings.Contains(dir, "/internal/") {
			continue // a package's private helper
		}
		if !strings.Contains(string(arch), dir+" ") {
			t.Errorf("docs/ARCHITECTURE.md does not describe %s", dir)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(docs/ARCHITECTURE.md)") {
		t.Error("README.md does not link docs/ARCHITECTURE.md")
	}
	outside := "../" + "shared"
	err = filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), outside) {
			t.Errorf("%s refers to %s, which users do not have", path, outside)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
