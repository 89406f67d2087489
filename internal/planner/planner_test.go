package planner_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/buildrole/buildrole/internal/config"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/planner"
	"github.com/buildrole/buildrole/internal/run"
)

const account = "123456789012"

var webIdentity = run.Trust{
	ProviderARN: "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com",
	Audience:    "sts.amazonaws.com", Subject: "repo:acme/images:pull_request",
}

func parse(t testing.TB, mode string, extra ...string) *config.Config {
	t.Helper()
	inputs := map[string]string{"aws-region": "us-east-1", "role-to-assume": "arn:aws:iam::" + account + ":role/buildrole-bootstrap", "instance-profile": mode}
	for i := 0; i+1 < len(extra); i += 2 {
		inputs[extra[i]] = extra[i+1]
	}
	cfg, err := config.Parse(config.Source{
		Input:  func(n string) string { return inputs[n] },
		GitHub: config.GitHub{Repository: "acme/images", RunID: "77", RunAttempt: "1", Ref: "refs/pull/42/merge", EventName: "pull_request"},
		RunID:  "3f9c2a1b-0000-4000-8000-000000000000",
		Now:    time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func plan(t testing.TB, mode string, extra ...string) *planner.Plan {
	t.Helper()
	p, err := planner.New(parse(t, mode, extra...), account, webIdentity)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The plan's build policy, evaluated: PassRole reaches the run's instance
// role and nothing else.
func TestPlanPassRoleOnlyToTheInstanceRole(t *testing.T) {
	t.Parallel()
	p := plan(t, "separate")
	docs := []iampolicy.Document{*p.BuildRole.Policy}
	ctx := map[string][]string{"aws:RequestedRegion": {"us-east-1"}, "iam:PassedToService": {"ec2.amazonaws.com"}}
	cases := []struct {
		resource string
		want     iampolicy.Decision
	}{
		{p.InstanceRole.ARN, iampolicy.Allow},
		{p.BuildRole.ARN, iampolicy.ImplicitDeny},
		{"arn:aws:iam::" + account + ":role/buildrole/other-run-vm", iampolicy.ImplicitDeny},
		{"arn:aws:iam::" + account + ":role/Admin", iampolicy.ImplicitDeny},
	}
	for _, c := range cases {
		got := iampolicy.Evaluate(iampolicy.Request{Action: "iam:PassRole", Resource: c.resource, Context: ctx}, docs, nil)
		if got != c.want {
			t.Errorf("PassRole %s = %v, want %v", c.resource, got, c.want)
		}
	}
}

// Session Manager needs the SSM agent on the VM: without an instance
// policy the instance role gets the agent's permissions.
func TestPlanGivesSessionManagerBuildsTheSSMAgent(t *testing.T) {
	t.Parallel()
	p := plan(t, "separate", "aws-region", "eu-central-1", "template", "../../testdata/templates/spot-ssm.pkr.hcl")
	if p.InstanceRole.Policy == nil {
		t.Fatal("instance role has no policy")
	}
	req := iampolicy.Request{Action: "ssmmessages:OpenDataChannel", Resource: "*"}
	if got := iampolicy.Evaluate(req, []iampolicy.Document{*p.InstanceRole.Policy}, nil); got != iampolicy.Allow {
		t.Errorf("SSM agent call = %v", got)
	}
	// A template's own profile cannot work under a boundary: refused.
	dir := t.TempDir()
	tmpl := dir + "/own.pkr.hcl"
	src := "source \"amazon-ebs\" \"x\" {\n region = \"us-east-1\"\n instance_type = \"t3.micro\"\n source_ami = \"ami-1\"\n ssh_username = \"u\"\n ami_name = \"x\"\n iam_instance_profile = \"legacy-profile\"\n}\nbuild {\n sources = [\"source.amazon-ebs.x\"]\n}\n"
	if err := os.WriteFile(tmpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{"aws-region": "us-east-1", "template": tmpl, "permissions-boundary": "arn:aws:iam::" + account + ":policy/buildrole/buildrole-boundary"}
	cfg, err := config.Parse(config.Source{Input: func(n string) string { return inputs[n] }, GitHub: config.GitHub{Repository: "a/b", RunID: "1"}, RunID: "abcdef01-0000-4000-8000-000000000000", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planner.New(cfg, account, run.Trust{PrincipalARN: "arn:aws:iam::" + account + ":user/u"}); err == nil || !strings.Contains(err.Error(), "var.iam_instance_profile") {
		t.Errorf("own profile under a boundary: %v", err)
	}
}

// A plan is a function of its config, account and trust: up may keep the
// one it built before any call when the session confirms both, and the
// plan does not share the config's slices.
func TestPlanIsAFunctionOfItsInputs(t *testing.T) {
	t.Parallel()
	cfg := parse(t, "separate")
	a, err := planner.New(cfg, account, webIdentity)
	if err != nil {
		t.Fatal(err)
	}
	b, err := planner.New(cfg, account, webIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if a.BuildRole.Policy.JSON() != b.BuildRole.Policy.JSON() || a.BuildRole.Trust.JSON() != b.BuildRole.Trust.JSON() || !slices.Equal(a.ARNs(), b.ARNs()) {
		t.Error("two plans of the same inputs differ")
	}
	a.Warnings = append(a.Warnings, "mine")
	a.Tags[0].Value = "changed"
	if slices.Contains(cfg.Warnings, "mine") || cfg.Tags[0].Value == "changed" {
		t.Error("the plan shares its warnings or tags with the config")
	}
	other := webIdentity
	other.Subject = "repo:acme/images:environment:images"
	c, err := planner.New(cfg, account, other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.BuildRole.Trust.JSON(), other.Subject) || c.Trust == a.Trust {
		t.Errorf("another subject's plan trusts %s", c.BuildRole.Trust.JSON())
	}
}

// The state up saves names every resource as pending, in whole seconds,
// and reads back as it was.
func TestSavedStateReadsBack(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"separate", "shared", "none"} {
		p := plan(t, mode)
		st := p.SavedState(time.Date(2026, 12, 7, 1, 2, 3, 456, time.UTC))
		if !slices.Equal(st.Pending, p.Resources()) || st.PendingSince.Nanosecond() != 0 {
			t.Errorf("%s: pending %v since %v", mode, st.Pending, st.PendingSince)
		}
		back, err := run.StateFromMap(st.Map())
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !slices.Equal(back.Pending, st.Pending) || !back.PendingSince.Equal(st.PendingSince) || back.Role != st.Role || back.InstanceProfile != st.InstanceProfile {
			t.Errorf("%s: read back %+v, saved %+v", mode, back, st)
		}
	}
}
