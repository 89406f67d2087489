package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/ghaction"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/run"
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
	// Placeholders are values that stand in for what only the real run
	// knows, with the flag that fills each.
	Placeholders []string `json:"placeholders,omitempty"`
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
	var repository, pr string
	f.fs.StringVar(&repository, "repository", "", "the repository (owner/name) whose job the preview is for; default GITHUB_REPOSITORY")
	f.fs.StringVar(&pr, "pr", "", "preview a pull request's run (its number): names and the trusted subject follow it")
	if done, code := f.parse(args); done {
		return code
	}
	gh := config.GitHubFromEnv(env.Getenv)
	if repository != "" {
		gh.Repository = repository
	}
	if pr != "" {
		gh.Ref, gh.EventName = "refs/pull/"+pr+"/merge", "pull_request"
	}
	var bad []string
	if gh.Repository != "" && !repoRE.MatchString(gh.Repository) {
		bad = append(bad, fmt.Sprintf("--repository: %q must be owner/name", gh.Repository))
	}
	if pr != "" && !prRE.MatchString(pr) {
		bad = append(bad, fmt.Sprintf("--pr: %q must be a pull request number", pr))
	}
	if len(bad) > 0 {
		fmt.Fprintf(env.Stderr, "buildrole policy: invalid input:\n%s\n", strings.Join(bad, "\n"))
		return ExitUsage
	}
	cfg, plan, err := previewPlan(env, f.input, gh)
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole policy: %s\n", err)
		return ExitUsage
	}
	rep := policyReport{Regions: plan.Regions, BuildTrust: plan.BuildRole.Trust, BuildPolicy: *plan.BuildRole.Policy, Notes: plan.Warnings}
	if plan.InstanceRole != nil {
		rep.InstanceTrust, rep.InstancePolicy = &plan.InstanceRole.Trust, plan.InstanceRole.Policy
	}
	rep.Reasons = reasons(plan)
	rep.Placeholders = placeholders(cfg)
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

// placeholders lists what the preview had to make up.
func placeholders(cfg *config.Config) []string {
	var out []string
	if cfg.AccountID == "" {
		out = append(out, fmt.Sprintf("account %s: the real account comes from --role-to-assume (or, without one, from the caller)", run.PlaceholderAccount))
	}
	if cfg.RoleToAssume == "" {
		out = append(out, "CALLER-ROLE/CALLER-SESSION: without role-to-assume the build role trusts the session that runs up, known only then")
	} else {
		out = append(out, "the trusted sub claim is GitHub's default for the event; the real run takes it from the job's token")
	}
	if cfg.GitHub.Repository == "" {
		out = append(out, "repository: names and the trusted subject lack it; give --repository owner/name (and --pr N for a pull request)")
	}
	out = append(out, "the run id (the last part of every name) is new for every run")
	return out
}

// reasons says why each statement of the build policy is there: the
// template options and plugin steps behind it, and what each of its guards
// (condition keys) stops.
func reasons(p *planner.Plan) []reason {
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
	for _, p := range rep.Placeholders {
		fmt.Fprintf(w, "placeholder: %s\n", p)
	}
	if len(rep.Placeholders) > 0 {
		fmt.Fprintln(w)
	}
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
