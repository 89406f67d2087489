package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/buildrole/buildrole/internal/accountsetup"
	"github.com/buildrole/buildrole/internal/fakeaws"
	"github.com/buildrole/buildrole/internal/ghaction"
)

// Demo fixtures: one repository's pull request against a bootstrap role set
// up as `buildrole bootstrap` describes.
const (
	demoRepo      = "acme/images"
	demoBootstrap = "buildrole-bootstrap"
	demoRegion    = "us-east-1"
)

// demoResult is `buildrole demo --json`.
type demoResult struct {
	Created            []string          `json:"created"`
	Outputs            map[string]string `json:"outputs"`
	Exported           []string          `json:"exported_env"`
	UpExit             int               `json:"up_exit"`
	DownExit           int               `json:"down_exit"`
	UpCalls            int               `json:"up_calls"`
	DownCalls          int               `json:"down_calls"`
	RemainingAfterDown int               `json:"remaining_after_down"`
	Summary            string            `json:"step_summary"`
}

// demoTemplate is the Packer template the demo derives the policy from.
const demoTemplate = `variable "iam_instance_profile" {
  type = string
}

variable "buildrole_run_tags" {
  type    = map(string)
  default = {}
}

source "amazon-ebs" "web" {
  region               = "us-east-1"
  instance_type        = "t3.micro"
  source_ami           = "ami-0123456789abcdef0"
  ssh_username         = "ubuntu"
  ami_name             = "web-demo"
  ami_regions          = ["eu-west-1"]
  iam_instance_profile = var.iam_instance_profile
  run_tags             = var.buildrole_run_tags
  run_volume_tags      = var.buildrole_run_tags
}

build {
  sources = ["source.amazon-ebs.web"]
}
`

func runDemo(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "demo", "buildrole demo [--json]",
		"Run the action's main and post steps against an embedded fake AWS (IAM, STS and a\n"+
			"GitHub OIDC issuer on loopback) and show what each step did.").
		withJSON("print the result as JSON")
	if done, code := f.parse(args); done {
		return code
	}
	jsonOut := f.json
	res, log, err := demo(ctx, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "buildrole demo: %s\n", err)
		return ExitFailed
	}
	if jsonOut {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		w := env.Stdout
		fmt.Fprintf(w, "buildrole demo: the action's main and post steps against an embedded fake AWS (IAM, STS, GitHub OIDC) on %s\n\n", "loopback")
		fmt.Fprintf(w, "%s", log)
		fmt.Fprintf(w, "\ncreated by up (%d AWS calls, exit %d):\n", res.UpCalls, res.UpExit)
		for _, a := range res.Created {
			fmt.Fprintf(w, "  %s\n", a)
		}
		fmt.Fprintf(w, "\nstep outputs:\n")
		for _, k := range ghaction.SortedKeys(res.Outputs) {
			if k != "policy" {
				fmt.Fprintf(w, "  %-22s %s\n", k, res.Outputs[k])
			}
		}
		fmt.Fprintf(w, "\nexported to later steps: %s (credentials masked)\n", strings.Join(res.Exported, ", "))
		fmt.Fprintf(w, "\nstep summary (markdown):\n")
		writeMasked(w, res.Summary)
		fmt.Fprintf(w, "\ndown (%d AWS calls, exit %d): %d resources remain\n", res.DownCalls, res.DownExit, res.RemainingAfterDown)
	}
	if res.UpExit != ExitOK || res.DownExit != ExitOK || res.RemainingAfterDown != 0 {
		return ExitFailed
	}
	return ExitOK
}

func demo(ctx context.Context, env Env) (*demoResult, string, error) {
	srv := fakeaws.NewUnstartedServer()
	srv.Start()
	defer srv.Close()
	// Real IAM takes seconds to honour a new trust policy; a little of
	// that shows up's wait.
	srv.SetPropagationDelay(300 * time.Millisecond)
	// The account as `buildrole bootstrap` sets it up: IAM then refuses
	// whatever that setup refuses.
	setup, err := accountsetup.NewBootstrap(accountsetup.BootstrapParams{Repository: demoRepo, AccountID: srv.AccountID, RoleName: demoBootstrap})
	if err != nil {
		return nil, "", err
	}
	srv.AddOIDCProvider(setup.ProviderURL, setup.Audience)
	srv.AddManagedPolicy(setup.BoundaryName, "/buildrole/", setup.Boundary.JSON())
	bootstrapARN := srv.AddRole(demoBootstrap, "/", setup.Trust.JSON())
	srv.PutRolePolicyDirect(demoBootstrap, "buildrole-bootstrap", setup.Permissions.JSON())
	job := fakeaws.Job{Repository: demoRepo, RepositoryOwner: "acme", EventName: "pull_request", Ref: "refs/pull/42/merge", Workflow: "images", RunID: "7001", RunAttempt: "1", Actor: "octocat"}
	srv.SetJob(job)

	dir, err := os.MkdirTemp("", "buildrole-demo-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		files[name] = filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(files[name], nil, 0o644); err != nil {
			return nil, "", err
		}
	}
	template := filepath.Join(dir, "web.pkr.hcl")
	if err := os.WriteFile(template, []byte(demoTemplate), 0o644); err != nil {
		return nil, "", err
	}
	vars := map[string]string{
		"INPUT_TEMPLATE":                 template,
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_REPOSITORY":              job.Repository,
		"GITHUB_RUN_ID":                  job.RunID,
		"GITHUB_RUN_ATTEMPT":             job.RunAttempt,
		"GITHUB_EVENT_NAME":              job.EventName,
		"GITHUB_REF":                     job.Ref,
		"GITHUB_WORKFLOW":                job.Workflow,
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.TokenRequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": srv.TokenRequestToken(),
		"AWS_ENDPOINT_URL":               srv.URL(),
		"INPUT_AWS-REGION":               demoRegion,
		"INPUT_ROLE-TO-ASSUME":           bootstrapARN,
		"INPUT_PERMISSIONS-BOUNDARY":     setup.BoundaryARN,
		"INPUT_TAGS":                     "team=images\ncost-center=ci",
	}
	for k, v := range files {
		vars[k] = v
	}
	inner := env
	inner.Getenv = func(k string) string { return vars[k] }
	var upLog, downLog bytes.Buffer
	inner.Stdout, inner.Stderr = &upLog, &upLog

	res := &demoResult{}
	res.UpExit = Main(ctx, []string{"buildrole", "up"}, inner)
	res.UpCalls = len(srv.Requests())
	for _, r := range srv.Snapshot().Roles {
		if r.Path == "/buildrole/" {
			res.Created = append(res.Created, r.ARN)
		}
	}
	for _, p := range srv.Snapshot().InstanceProfiles {
		if p.Path == "/buildrole/" {
			res.Created = append(res.Created, p.ARN)
		}
	}
	sort.Strings(res.Created)
	if res.Outputs, err = readFileCommands(files["GITHUB_OUTPUT"]); err != nil {
		return nil, "", err
	}
	exported, err := readFileCommands(files["GITHUB_ENV"])
	if err != nil {
		return nil, "", err
	}
	res.Exported = ghaction.SortedKeys(exported)
	state, err := readFileCommands(files["GITHUB_STATE"])
	if err != nil {
		return nil, "", err
	}

	// The post step: inputs again, the saved state as STATE_*, a fresh
	// OIDC token, and, as the runner does, everything written to
	// GITHUB_ENV (the build role's keys too, which teardown never uses).
	for k, v := range state {
		vars["STATE_"+k] = v
	}
	for k, v := range exported {
		vars[k] = v
	}
	inner.Stdout, inner.Stderr = &downLog, &downLog
	srv.ResetRequests()
	res.DownExit = Main(ctx, []string{"buildrole", "down"}, inner)
	res.DownCalls = len(srv.Requests())
	snap := srv.Snapshot()
	for _, r := range snap.Roles {
		if r.Path == "/buildrole/" {
			res.RemainingAfterDown++
		}
	}
	for _, p := range snap.InstanceProfiles {
		if p.Path == "/buildrole/" {
			res.RemainingAfterDown++
		}
	}
	if b, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"]); err == nil {
		res.Summary = string(b)
	}
	var log strings.Builder
	fmt.Fprintf(&log, "--- main step: buildrole up (runner log, masks applied) ---\n")
	writeMasked(&log, upLog.String())
	fmt.Fprintf(&log, "--- post step: buildrole down ---\n")
	writeMasked(&log, downLog.String())
	return res, log.String(), nil
}

func readFileCommands(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ghaction.ParseFileCommands(string(b))
}

// writeMasked shows a runner log as GitHub would: ::add-mask:: values
// replaced by *** and mask commands hidden.
func writeMasked(w io.Writer, log string) {
	var masks []string
	for _, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masks = append(masks, v)
			continue
		}
		if line == "::endgroup::" || strings.HasPrefix(line, "::debug::") {
			continue
		}
		if t, ok := strings.CutPrefix(line, "::group::"); ok {
			line = "> " + t
		}
		for _, m := range masks {
			line = strings.ReplaceAll(line, m, "***")
		}
		fmt.Fprintf(w, "  | %s\n", line)
	}
}
