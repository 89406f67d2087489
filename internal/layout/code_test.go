package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxFuncLines bounds a function: a longer one reads as a short list of
// named phases instead.
const maxFuncLines = 100

// sources parses every hand-written, non-test Go file of the module.
func sources(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".") && path != "../.." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if _, gen, err := countLines(path); err != nil || gen {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		files[filepath.ToSlash(rel)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found %d files; the walk is broken", len(files))
	}
	return fset, files
}

func TestFunctionsShort(t *testing.T) {
	fset, files := sources(t)
	for path, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > maxFuncLines {
				t.Errorf("%s: %s is %d lines, over %d: make it a short list of named phases", path, fn.Name.Name, n, maxFuncLines)
			}
		}
	}
}

// tagKey is a buildrole tag key spelled out: only internal/run defines
// them.
var tagKey = regexp.MustCompile(`^(aws:(Request|Resource)Tag/)?buildrole:(managed|run-id|repository|run|pr|workflow|expires-at)$`)

func TestTagKeysDefinedOnce(t *testing.T) {
	_, files := sources(t)
	for path, f := range files {
		if strings.HasPrefix(path, "internal/run/") || strings.HasPrefix(path, "internal/fakeaws/") {
			continue // fakeaws checks buildrole from outside, by the contract's text
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if v, err := strconv.Unquote(lit.Value); err == nil && tagKey.MatchString(v) {
				t.Errorf("%s: the tag key %q is spelled out: use internal/run's constant", path, v)
			}
			return true
		})
	}
}

// TestNoBranchingOnErrorText: callers branch on error types and codes,
// never on what a message says: no error text (x.Error(), or a variable
// holding it) searched or compared.
func TestNoBranchingOnErrorText(t *testing.T) {
	_, files := sources(t)
	for path, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			held := errorTextVars(fn.Body)
			text := func(e ast.Expr) bool {
				if id, ok := e.(*ast.Ident); ok && held[id.Name] {
					return true
				}
				return isErrorText(e)
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if (n.Op == token.EQL || n.Op == token.NEQ) && (text(n.X) || text(n.Y)) {
						t.Errorf("%s: %s compares an error's text: branch on its type (errors.As) or its API code", path, fn.Name.Name)
					}
				case *ast.CallExpr:
					if name, ok := searchesText(n); ok {
						for _, arg := range n.Args {
							if text(arg) {
								t.Errorf("%s: %s calls %s on an error's text: branch on its type (errors.As) or its API code", path, fn.Name.Name, name)
							}
						}
					}
				}
				return true
			})
		}
	}
}

// searchesText reports a call that looks into a string: strings' searches
// and regexp matches.
func searchesText(call *ast.CallExpr) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	switch sel.Sel.Name {
	case "Contains", "ContainsAny", "HasPrefix", "HasSuffix", "EqualFold", "Index", "LastIndex", "Count", "MatchString", "FindStringSubmatch":
		return sel.Sel.Name, true
	}
	return "", false
}

// errorTextVars names the variables of a function assigned an error's
// text (msg := err.Error()).
func errorTextVars(body *ast.BlockStmt) map[string]bool {
	held := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, r := range as.Rhs {
			if id, ok := as.Lhs[i].(*ast.Ident); ok && isErrorText(r) {
				held[id.Name] = true
			}
		}
		return true
	})
	return held
}

// isErrorText reports an expression of the form x.Error().
func isErrorText(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Error"
}
