package cli

import (
	"context"
	"fmt"

	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/policylint"
	"github.com/buildrole/buildrole/internal/safefile"
)

// runLint lints IAM policy files: one finding a line, file:line:col:
// message [rule]; exit 1 when any finding is an error.
func runLint(_ context.Context, env Env, args []string) int {
	f := newFlags(env, "lint", "buildrole lint [--trust] [--allowed-passrole ARN]... FILE...",
		"Lint IAM policy documents: one finding a line, file:line:col: message [rule].\n"+
			"Exits 1 when any finding is an error.").withArgs("FILE...")
	trust := f.fs.Bool("trust", false, "the files are trust (assume-role) policies")
	var passRoles listFlag
	f.fs.Var(&passRoles, "allowed-passrole", "a role ARN (or pattern) PassRole may name; repeat; others are errors")
	if done, code := f.parse(args); done {
		return code
	}
	fs := f.fs
	if fs.NArg() == 0 {
		return f.fail("no FILE to lint")
	}
	opts := policylint.LintOptions{AllowedPassRoleARNs: passRoles.vals}
	if *trust {
		opts.Kind = policylint.TrustPolicy
	}
	code := ExitOK
	for _, file := range fs.Args() {
		data, err := safefile.Read(file, iampolicy.MaxDocumentBytes)
		if err != nil {
			fmt.Fprintf(env.Stderr, "buildrole lint: %v\n", err)
			code = ExitUsage
			continue
		}
		findings := policylint.Lint(file, data, opts)
		for _, f := range findings {
			_ = writeData(env.Stdout, ghaction.InActions(env.Getenv), f.String())
		}
		if policylint.HasErrors(findings) && code == ExitOK {
			code = ExitFailed
		}
	}
	return code
}
