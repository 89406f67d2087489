package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/provision"
)

// policyReport is `buildrole policy --json`.
type policyReport struct {
	Regions        []string            `json:"regions"`
	BuildTrust     iampolicy.Document  `json:"build_role_trust_policy"`
	BuildPolicy    iampolicy.Document  `json:"build_role_policy"`
	InstanceTrust  *iampolicy.Document `json:"instance_role_trust_policy,omitempty"`
	InstancePolicy *iampolicy.Document `json:"instance_role_policy,omitempty"`
	Reasons        []reason            `json:"reasons"`
	Notes          []string            `json:"notes,omitempty"`
}

type reason struct {
	Sid     string   `json:"sid"`
	Actions []string `json:"actions"`
	Why     []string `json:"why"`
}

// runPolicy prints what a build may do, computed like up's plan, with no
// AWS call.
func runPolicy(_ context.Context, env Env, args []string) int {
	f := newFlags(env, "policy", "buildrole policy --aws-region REGION [--template FILE] [flags]",
		"Print what the build role may do and why, computed as up would, without calling AWS.").
		withInputs("aws-region", "role-to-assume", "audience", "name-prefix", "path", "permissions-boundary", "template", "template-vars",
			"extra-policy", "instance-policy", "instance-profile", "scope", "allowed-source-cidrs").
		withJSON("print the policies and reasons as JSON")
	if done, code := f.parse(args); done {
		return code
	}
	cfg, err := config.Parse(config.Source{Input: f.input, Flags: true, GitHub: config.GitHubFromEnv(env.Getenv), RunID: uuid.NewString(), Now: env.Now(), Getenv: env.Getenv})
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole policy: invalid input:\n%s\n", err)
		return ExitUsage
	}
	account := cfg.AccountID
	if account == "" {
		account = provision.PlaceholderAccount
	}
	plan, err := provision.NewPlan(cfg, account, dryRunTrust(cfg, account))
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole policy: %s\n", err)
		return ExitUsage
	}
	rep := policyReport{Regions: plan.Regions, BuildTrust: plan.BuildRole.Trust, BuildPolicy: *plan.BuildRole.Policy, Notes: plan.Warnings}
	if plan.InstanceRole != nil {
		rep.InstanceTrust, rep.InstancePolicy = &plan.InstanceRole.Trust, plan.InstanceRole.Policy
	}
	rep.Reasons = reasons(plan)
	var out strings.Builder
	if f.json {
		b, _ := json.MarshalIndent(rep, "", "  ")
		out.Write(b)
	} else {
		printPolicy(&out, rep)
	}
	if err := writeData(env.Stdout, ghaction.InActions(env.Getenv), out.String()); err != nil {
		return ExitFailed
	}
	return ExitOK
}

// reasons says why each statement of the build policy is there: the
// template options and plugin steps behind it, and what each of its guards
// (condition keys) stops.
func reasons(p *provision.Plan) []reason {
	var out []reason
	for i, st := range p.BuildRole.Policy.Statement {
		sid := st.Sid
		w := buildpolicy.Explain(st, p.Grants)
		if w == nil {
			w = []string{"extra-policy input"}
			if sid == "" {
				sid = fmt.Sprintf("#%d", i)
			}
		}
		out = append(out, reason{Sid: sid, Actions: st.Action, Why: w})
	}
	return out
}

func printPolicy(w io.Writer, rep policyReport) {
	fmt.Fprintf(w, "Build role: may act in %s\n\n", strings.Join(rep.Regions, ", "))
	for _, r := range rep.Reasons {
		fmt.Fprintf(w, "%s\n  actions: %s\n", r.Sid, strings.Join(r.Actions, ", "))
		for _, y := range r.Why {
			fmt.Fprintf(w, "  why:     %s\n", y)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	fmt.Fprintf(w, "\nBuild role permission policy:\n%s\n\nBuild role trust policy:\n%s\n", rep.BuildPolicy.Indent(), rep.BuildTrust.Indent())
	if rep.InstanceTrust != nil {
		fmt.Fprintf(w, "\nInstance role trust policy:\n%s\n", rep.InstanceTrust.Indent())
		if rep.InstancePolicy != nil {
			fmt.Fprintf(w, "\nInstance role policy:\n%s\n", rep.InstancePolicy.Indent())
		} else {
			fmt.Fprintf(w, "\nInstance role policy: none (set instance-policy to give the build VM permissions)\n")
		}
	}
}
