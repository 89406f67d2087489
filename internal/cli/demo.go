package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/buildrole/buildrole/internal/demo"
)

func runDemo(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "demo", "buildrole demo [--json]",
		"Run the action's main and post steps against an embedded fake AWS (IAM, STS and a\n"+
			"GitHub OIDC issuer on loopback) and show what each step did.").
		withJSON("print the result as JSON")
	if done, code := f.parse(args); done {
		return code
	}
	res, log, err := demo.Run(ctx, func(ctx context.Context, cmd string, getenv func(string) string, out io.Writer) int {
		inner := env
		inner.Getenv, inner.Stdout, inner.Stderr = getenv, out, out
		return Main(ctx, []string{"buildrole", cmd}, inner)
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole demo: %s\n", err)
		return ExitFailed
	}
	if f.json {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		res.Text(env.Stdout, log)
	}
	if !res.OK() {
		return ExitFailed
	}
	return ExitOK
}
