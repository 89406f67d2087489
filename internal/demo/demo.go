// Package demo plays GitHub's runner for `buildrole demo`: the action's
// main step (up) and post step (down) against fakeaws on loopback, set up
// as `buildrole bootstrap` describes, and what each step did. The steps
// themselves are the CLI's, given as a Step.
package demo

import (
	"bytes"
	"context"
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

// Result is `buildrole demo --json`.
type Result struct {
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

// Step runs `buildrole CMD` as a job step with getenv as its environment,
// its log to out, and returns its exit code.
type Step func(ctx context.Context, cmd string, getenv func(string) string, out io.Writer) int

// Run plays a runner: the main step (`up`) and the post step (`down`)
// against a fake AWS on loopback, set up as `buildrole bootstrap` describes,
// and reports what each step did, with the runner's log.
func Run(ctx context.Context, step Step) (*Result, string, error) {
	srv := fakeaws.NewUnstartedServer()
	if err := srv.Start(); err != nil {
		return nil, "", err
	}
	defer srv.Close()
	acct, err := demoAccount(srv)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "buildrole-demo-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	r, err := newDemoRunner(step, srv, acct, dir)
	if err != nil {
		return nil, "", err
	}
	res := &Result{}
	upLog, state, exported, err := r.mainStep(ctx, res)
	if err != nil {
		return nil, "", err
	}
	downLog := r.postStep(ctx, res, state, exported)
	var log strings.Builder
	fmt.Fprintf(&log, "--- main step: buildrole up (runner log, masks applied) ---\n")
	writeMasked(&log, upLog)
	fmt.Fprintf(&log, "--- post step: buildrole down ---\n")
	writeMasked(&log, downLog)
	return res, log.String(), nil
}

// demoAcct is the fake account the demo runs in.
type demoAcct struct {
	job          fakeaws.Job
	bootstrapARN string
	boundaryARN  string
}

// demoAccount sets srv's account up as `buildrole bootstrap` does (IAM
// then refuses whatever that setup refuses) and sets the job whose
// tokens the issuer mints: one repository's pull request.
func demoAccount(srv *fakeaws.Server) (demoAcct, error) {
	// Real IAM takes seconds to honour a new trust policy; a little of
	// that shows up's wait.
	srv.SetPropagationDelay(300 * time.Millisecond)
	setup, err := accountsetup.NewBootstrap(accountsetup.BootstrapParams{Repository: demoRepo, AccountID: srv.AccountID, RoleName: demoBootstrap})
	if err != nil {
		return demoAcct{}, err
	}
	srv.AddOIDCProvider(setup.ProviderURL, setup.Audience)
	srv.AddManagedPolicy(setup.BoundaryName, "/buildrole/", setup.Boundary.JSON())
	bootstrapARN := srv.AddRole(demoBootstrap, "/", setup.Trust.JSON())
	srv.PutRolePolicyDirect(demoBootstrap, "buildrole-bootstrap", setup.Permissions.JSON())
	job := fakeaws.Job{Repository: demoRepo, RepositoryOwner: "acme", EventName: "pull_request", Ref: "refs/pull/42/merge", Workflow: "images", RunID: "7001", RunAttempt: "1", Actor: "octocat"}
	srv.SetJob(job)
	return demoAcct{job: job, bootstrapARN: bootstrapARN, boundaryARN: setup.BoundaryARN}, nil
}

// demoRunner is the runner the demo plays: the steps' environment and the
// files of the runner's file commands.
type demoRunner struct {
	step  Step
	srv   *fakeaws.Server
	vars  map[string]string // the step's environment
	files map[string]string // GITHUB_OUTPUT, GITHUB_ENV, … → path
}

// newDemoRunner writes the file commands' empty files and the template
// under dir, and sets the main step's environment: the action's inputs, the
// job's GITHUB_* and the fake's endpoints.
func newDemoRunner(step Step, srv *fakeaws.Server, acct demoAcct, dir string) (*demoRunner, error) {
	r := &demoRunner{step: step, srv: srv, files: map[string]string{}}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		r.files[name] = filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(r.files[name], nil, 0o644); err != nil {
			return nil, err
		}
	}
	template := filepath.Join(dir, "web.pkr.hcl")
	if err := os.WriteFile(template, []byte(demoTemplate), 0o644); err != nil {
		return nil, err
	}
	job := acct.job
	r.vars = map[string]string{
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
		"INPUT_ROLE-TO-ASSUME":           acct.bootstrapARN,
		"INPUT_PERMISSIONS-BOUNDARY":     acct.boundaryARN,
		"INPUT_TAGS":                     "team=images\ncost-center=ci",
	}
	for k, v := range r.files {
		r.vars[k] = v
	}
	return r, nil
}

// run runs `buildrole cmd` with the step's environment and returns its
// exit code, its log and how many AWS calls it made.
func (r *demoRunner) run(ctx context.Context, cmd string) (exit int, log string, calls int) {
	var buf bytes.Buffer
	r.srv.ResetRequests()
	exit = r.step(ctx, cmd, func(k string) string { return r.vars[k] }, &buf)
	return exit, buf.String(), len(r.srv.Requests())
}

// mainStep runs up and records what it created, its outputs and what it
// exported; it returns its log, the state it saved and its GITHUB_ENV.
func (r *demoRunner) mainStep(ctx context.Context, res *Result) (log string, state, exported map[string]string, err error) {
	res.UpExit, log, res.UpCalls = r.run(ctx, "up")
	res.Created = r.managed()
	sort.Strings(res.Created)
	if res.Outputs, err = readFileCommands(r.files["GITHUB_OUTPUT"]); err != nil {
		return "", nil, nil, err
	}
	if exported, err = readFileCommands(r.files["GITHUB_ENV"]); err != nil {
		return "", nil, nil, err
	}
	res.Exported = ghaction.SortedKeys(exported)
	if state, err = readFileCommands(r.files["GITHUB_STATE"]); err != nil {
		return "", nil, nil, err
	}
	return log, state, exported, nil
}

// postStep runs down as the runner runs the post step: inputs again, the
// saved state as STATE_*, a fresh OIDC token, and everything written to
// GITHUB_ENV (the build role's keys too, which teardown never uses). It
// records what remains and the step summary of both steps.
func (r *demoRunner) postStep(ctx context.Context, res *Result, state, exported map[string]string) (log string) {
	for k, v := range state {
		r.vars["STATE_"+k] = v
	}
	for k, v := range exported {
		r.vars[k] = v
	}
	res.DownExit, log, res.DownCalls = r.run(ctx, "down")
	res.RemainingAfterDown = len(r.managed())
	if b, err := os.ReadFile(r.files["GITHUB_STEP_SUMMARY"]); err == nil {
		res.Summary = string(b)
	}
	return log
}

// managed lists the ARNs of the roles and instance profiles under
// buildrole's path.
func (r *demoRunner) managed() []string {
	var arns []string
	snap := r.srv.Snapshot()
	for _, role := range snap.Roles {
		if role.Path == "/buildrole/" {
			arns = append(arns, role.ARN)
		}
	}
	for _, p := range snap.InstanceProfiles {
		if p.Path == "/buildrole/" {
			arns = append(arns, p.ARN)
		}
	}
	return arns
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

// Text writes the result as `buildrole demo` prints it.
func (res *Result) Text(w io.Writer, log string) {
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

// OK: both steps succeeded and nothing remains.
func (res *Result) OK() bool {
	return res.UpExit == 0 && res.DownExit == 0 && res.RemainingAfterDown == 0
}
