package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"

	"github.com/buildrole/buildrole/internal/cli"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

const actionRef = "buildrole/buildrole@"

// actionYAML is the part of action.yml these tests read.
type actionYAML struct {
	Inputs map[string]struct {
		Default *string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using  string `yaml:"using"`
		Main   string `yaml:"main"`
		Post   string `yaml:"post"`
		PostIf string `yaml:"post-if"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) actionYAML {
	t.Helper()
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// The action is a Node action whose post step always runs.
func TestActionYAMLRunsTheNodeEntryPoints(t *testing.T) {
	t.Parallel()
	r := readAction(t).Runs
	if r.Using != "node24" || r.PostIf != "always()" {
		t.Errorf("runs.using %q, post-if %q; want node24 and always()", r.Using, r.PostIf)
	}
	for _, f := range []string{r.Main, r.Post} {
		if f == "" {
			t.Errorf("runs lacks main or post")
			continue
		}
		if _, err := os.Stat(filepath.Join("../..", f)); err != nil {
			t.Errorf("runs names %s: %v", f, err)
		}
	}
}

// readmeBootstrap is what README's `buildrole bootstrap` command prints as
// JSON: the command as written (its --format aside), run through the CLI.
type readmeBootstrap struct {
	args     []string
	provider struct {
		URL string `json:"url"`
		ARN string `json:"arn"`
	}
	role struct {
		ARN   string          `json:"arn"`
		Trust json.RawMessage `json:"trust_policy"`
	}
	boundary struct {
		ARN  string `json:"arn"`
		Path string `json:"path"`
	}
	repository string
	audience   string
	trust      iampolicy.Document
}

func bootstrapOfREADME(t *testing.T) *readmeBootstrap {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The first concrete command line (a real account id, not the usage
	// synopsis), with its continuation lines, up to a redirection.
	var m []byte
	for _, c := range regexp.MustCompile("(?m)^buildrole bootstrap (?:.*\\\\\n)*.*$").FindAll(readme, -1) {
		if regexp.MustCompile(`--account-id [0-9]{12}\b`).Match(c) {
			m = c
			break
		}
	}
	if m == nil {
		t.Fatal("README.md gives no `buildrole bootstrap --repository ORG/REPO --account-id 123456789012 ...` command line")
	}
	line := strings.ReplaceAll(string(m), "\\\n", " ")
	line, _, _ = strings.Cut(line, ">")
	fields := strings.Fields(line)[2:]
	var args []string
	for i := 0; i < len(fields); i++ {
		if fields[i] == "--format" {
			i++
			continue
		}
		args = append(args, fields[i])
	}
	var out, errb bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := cli.Main(t.Context(), append([]string{"buildrole", "bootstrap", "--format", "json"}, args...), env); code != cli.ExitOK {
		t.Fatalf("README's command %q: exit %d\n%s", line, code, errb.String())
	}
	var doc struct {
		Provider json.RawMessage `json:"oidc_provider"`
		Role     json.RawMessage `json:"bootstrap_role"`
		Boundary json.RawMessage `json:"permissions_boundary"`
	}
	b := &readmeBootstrap{args: args}
	for _, err := range []error{
		json.Unmarshal(out.Bytes(), &doc),
		json.Unmarshal(doc.Provider, &b.provider),
		json.Unmarshal(doc.Role, &b.role),
		json.Unmarshal(doc.Boundary, &b.boundary),
	} {
		if err != nil {
			t.Fatalf("bootstrap JSON: %v\n%s", err, out.String())
		}
	}
	if b.trust, err = iampolicy.Parse(b.role.Trust); err != nil {
		t.Fatal(err)
	}
	b.audience = "sts.amazonaws.com"
	for i, a := range args {
		switch {
		case a == "--repository" && i+1 < len(args):
			b.repository = args[i+1]
		case a == "--audience" && i+1 < len(args):
			b.audience = args[i+1]
		}
	}
	return b
}

// admits says whether the bootstrap role trusts a token with this sub.
func (b *readmeBootstrap) admits(sub string) bool {
	host := strings.TrimPrefix(b.provider.URL, "https://")
	return iampolicy.EvaluateTrust(iampolicy.Request{
		Principal: map[string]string{"Federated": b.provider.ARN},
		Action:    iampolicy.ActionAssumeRoleWithWebIdentity,
		Resource:  b.role.ARN,
		Context:   map[string][]string{host + ":aud": {b.audience}, host + ":sub": {sub}},
	}, b.trust) == iampolicy.Allow
}

// jobSubjects are the OIDC subjects (after "repo:ORG/REPO:") GitHub gives
// the job's tokens: its environment, else one per triggering event.
// Scheduled and manual runs run on the default branch, main.
func jobSubjects(t *testing.T, file string, wf *actionlint.Workflow, job *actionlint.Job) []string {
	t.Helper()
	if job.Environment != nil && job.Environment.Name != nil {
		return []string{"environment:" + job.Environment.Name.Value}
	}
	var subs []string
	for _, ev := range wf.On {
		switch e := ev.(type) {
		case *actionlint.WebhookEvent:
			switch e.Hook.Value {
			case "pull_request":
				subs = append(subs, "pull_request")
			case "push":
				if e.Branches == nil {
					subs = append(subs, "ref:refs/heads/main")
				}
				for _, br := range branches(e) {
					subs = append(subs, "ref:refs/heads/"+br)
				}
			default:
				t.Errorf("%s: teach this test the OIDC subject of %q events", file, e.Hook.Value)
			}
		case *actionlint.ScheduledEvent, *actionlint.WorkflowDispatchEvent:
			subs = append(subs, "ref:refs/heads/main")
		default:
			t.Errorf("%s: teach this test the OIDC subject of %s", file, ev.EventName())
		}
	}
	slices.Sort(subs)
	return slices.Compact(subs)
}

func branches(e *actionlint.WebhookEvent) []string {
	var out []string
	if e.Branches != nil {
		for _, v := range e.Branches.Values {
			out = append(out, v.Value)
		}
	}
	return out
}

// The examples work as written: every with: key of a step that uses this
// action is an input of action.yml, the ARNs are those README's bootstrap
// command creates, and every subject a job presents is admitted by that
// bootstrap role's trust policy.
func TestExamplesWorkAsWritten(t *testing.T) {
	t.Parallel()
	inputs := readAction(t).Inputs
	boot := bootstrapOfREADME(t)
	if boot.repository == "" {
		t.Fatalf("README's bootstrap command %q names no --repository", boot.args)
	}
	files, err := filepath.Glob("../../examples/*.yml")
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		wf, errs := actionlint.Parse(src)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", file, errs[0])
		}
		uses := 0
		for _, job := range wf.Jobs {
			var steps []*actionlint.ExecAction
			for _, s := range job.Steps {
				if a, ok := s.Exec.(*actionlint.ExecAction); ok && strings.HasPrefix(a.Uses.Value, actionRef) {
					steps = append(steps, a)
				}
			}
			if len(steps) == 0 {
				continue
			}
			uses += len(steps)
			for _, a := range steps {
				checkWith(t, file, a, inputs, boot)
			}
			for _, sub := range jobSubjects(t, file, wf, job) {
				full := "repo:" + boot.repository + ":" + sub
				if !boot.admits(full) {
					t.Errorf("%s: job %s presents sub %q, which README's `buildrole bootstrap %s` does not admit",
						filepath.Base(file), job.ID.Value, full, strings.Join(boot.args, " "))
				}
			}
		}
		if uses == 0 {
			t.Errorf("%s uses no %s step", file, actionRef)
		}
	}
}

func checkWith(t *testing.T, file string, a *actionlint.ExecAction, inputs map[string]struct {
	Default *string `yaml:"default"`
}, boot *readmeBootstrap) {
	t.Helper()
	name := filepath.Base(file)
	for key, in := range a.Inputs {
		if _, ok := inputs[key]; !ok {
			t.Errorf("%s: with: %s is not an input of action.yml", name, key)
			continue
		}
		v := in.Value.Value
		var want string
		switch key {
		case "role-to-assume":
			want = boot.role.ARN
		case "permissions-boundary":
			want = boot.boundary.ARN
		case "path":
			want = boot.boundary.Path
		case "audience":
			want = boot.audience
		default:
			continue
		}
		if v != want {
			t.Errorf("%s: with: %s: %s, but README's bootstrap command gives %s", name, key, v, want)
		}
	}
	for _, required := range []string{"aws-region", "role-to-assume", "permissions-boundary"} {
		if _, ok := a.Inputs[required]; !ok {
			t.Errorf("%s: the %s step lacks %s", name, actionRef, required)
		}
	}
}

// README's workflow snippets pass only inputs action.yml has.
func TestREADMESnippetsUseRealInputs(t *testing.T) {
	t.Parallel()
	inputs := readAction(t).Inputs
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1) {
		var doc yaml.Node
		if err := yaml.Unmarshal(block[1], &doc); err != nil {
			t.Fatalf("README yaml block: %v\n%s", err, block[1])
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.MappingNode {
				var uses string
				var with *yaml.Node
				for i := 0; i+1 < len(n.Content); i += 2 {
					switch n.Content[i].Value {
					case "uses":
						uses = n.Content[i+1].Value
					case "with":
						with = n.Content[i+1]
					}
				}
				if strings.HasPrefix(uses, actionRef) && with != nil {
					steps++
					for i := 0; i < len(with.Content); i += 2 {
						if _, ok := inputs[with.Content[i].Value]; !ok {
							t.Errorf("README: with: %s is not an input of action.yml", with.Content[i].Value)
						}
					}
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&doc)
	}
	if steps == 0 {
		t.Errorf("README has no yaml step that uses %s", actionRef)
	}
}

// The examples pin what they run and fit their timeouts to their
// credentials: third-party actions to a full release or a commit (GitHub's
// own actions/* and this action by major), Packer to a version that the
// comment beside it names, and, where up exports the build role's keys, a
// job no longer than those keys last (role-duration-seconds).
func TestExamplesArePinnedAndTimed(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../examples/*.yml")
	fullRef := regexp.MustCompile(`^v\d+\.\d+\.\d+$|^[0-9a-f]{40}$`)
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		wf, errs := actionlint.Parse(src)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", file, errs[0])
		}
		name := filepath.Base(file)
		for _, job := range wf.Jobs {
			if job.TimeoutMinutes == nil {
				t.Errorf("%s: job %s has no timeout-minutes", name, job.ID.Value)
			}
			for _, s := range job.Steps {
				a, ok := s.Exec.(*actionlint.ExecAction)
				if !ok {
					continue
				}
				uses := a.Uses.Value
				repo, ref, _ := strings.Cut(uses, "@")
				if !strings.HasPrefix(uses, actionRef) && !strings.HasPrefix(repo, "actions/") && !fullRef.MatchString(ref) {
					t.Errorf("%s: %s is not pinned to a full release or a commit", name, uses)
				}
				if repo == "hashicorp/setup-packer" {
					checkPackerPin(t, name, src, a)
				}
				if strings.HasPrefix(uses, actionRef) && job.TimeoutMinutes != nil {
					checkTimeout(t, name, job, a)
				}
			}
		}
	}
}

func checkPackerPin(t *testing.T, name string, src []byte, a *actionlint.ExecAction) {
	t.Helper()
	in, ok := a.Inputs["version"]
	if !ok || in.Value == nil || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(in.Value.Value) {
		t.Errorf("%s: setup-packer's version is not a pinned Packer version", name)
		return
	}
	line := strings.Split(string(src), "\n")[in.Value.Pos.Line-1]
	if _, comment, ok := strings.Cut(line, "#"); ok && !strings.Contains(comment, in.Value.Value) {
		t.Errorf("%s: Packer %s, but the comment beside it says %q", name, in.Value.Value, strings.TrimSpace(comment))
	}
}

func checkTimeout(t *testing.T, name string, job *actionlint.Job, a *actionlint.ExecAction) {
	t.Helper()
	if in, ok := a.Inputs["export-credentials"]; ok && in.Value != nil && in.Value.Value == "false" {
		return // credentials served per call may outlive one session
	}
	seconds := 3600
	if in, ok := a.Inputs["role-duration-seconds"]; ok && in.Value != nil {
		if n, err := strconv.Atoi(in.Value.Value); err == nil {
			seconds = n
		}
	}
	if m := job.TimeoutMinutes.Value; m > float64(seconds)/60 {
		t.Errorf("%s: job %s may run %v minutes, but the exported credentials last %d s (role-duration-seconds)", name, job.ID.Value, m, seconds)
	}
}
