package accountsetup

import (
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/google/go-cmp/cmp"
)

// Subjects GitHub never writes are refused, naming the form it writes.
func TestBootstrapSubjectNearMisses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, fix string }{
		{"refs/heads/main", "ref:refs/heads/main"},
		{"refs/tags/v1", "ref:refs/tags/v1"},
		{"heads/main", "ref:refs/heads/main"},
		{"pull-request", "pull_request"},
		{"Pull_Request", "pull_request"},
		{"pullrequest", "pull_request"},
		{"pr", "pull_request"},
		{"pull_request:42", "pull_request"},
		{"refs/pull/42/merge", "pull_request"},
		{"main", "ref:refs/heads/main"},
		{"release/1.2", "ref:refs/heads/release/1.2"},
		{"ref:main", "ref:refs/heads/main"},
		{"ref:heads/main", "ref:refs/heads/main"},
		{"ref:tags/v1", "ref:refs/tags/v1"},
		{"ref:refs/head/main", "ref:refs/heads/main"},
		{"Ref:refs/heads/main", "ref:refs/heads/main"},
		{"branch:main", "ref:refs/heads/main"},
		{"tag:v1", "ref:refs/tags/v1"},
		{"env:prod", "environment:prod"},
		{"Environment:prod", "environment:prod"},
		{"context:pull_request", "pull_request"},
		{"repo:octo/app:refs/heads/main", "repo:octo/app:ref:refs/heads/main"},
		{"repo:octo/app:main", "repo:octo/app:ref:refs/heads/main"},
		{"repo:octo/app:pull-request", "repo:octo/app:pull_request"},
		{"repo:octo/app:ref:main:job_workflow_ref:o/r/.github/workflows/w.yml@refs/heads/main", "repo:octo/app:ref:refs/heads/main:job_workflow_ref:o/r/.github/workflows/w.yml@refs/heads/main"},
		// One of a comma-separated list.
		{"pull_request,refs/heads/main", "ref:refs/heads/main"},
	} {
		p := BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Subjects: []string{c.given}}
		b, err := NewBootstrap(p)
		if err == nil {
			t.Errorf("%q: admitted %s, want an error naming %q", c.given, b.Trust.JSON(), c.fix)
			continue
		}
		if want := "give " + `"` + c.fix + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q, want it to say %s", c.given, err, want)
		}
	}
	// A bare name may be an environment's too.
	_, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Subjects: []string{"images"}})
	if err == nil || !strings.Contains(err.Error(), `"environment:images"`) {
		t.Errorf("bare name: error %v, want it to name environment:images too", err)
	}
}

// Other malformed subjects are refused too.
func TestBootstrapSubjectRejects(t *testing.T) {
	t.Parallel()
	for _, given := range []string{
		"environment", "environment:", "ref", "ref:", "job_workflow_ref", "a::b", ",", " , ",
		"repo:octo:pull_request", "repo:oct*/app:pull_request", "repo:octo*", "Repo:octo/app:pull_request", "repository:octo/app:pull_request", "repo:octo/app:",
		// Names no repository, owner or enterprise on github.com's issuer:
		// any repository can set its template to present it.
		"job_workflow_ref:octo/automation/.github/workflows/build.yml@refs/heads/main",
		"repository_owner:*:job_workflow_ref:x",
	} {
		b, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Subjects: []string{given}})
		if err == nil {
			t.Errorf("%q: admitted %s", given, b.Trust.JSON())
		} else if !strings.Contains(err.Error(), "bootstrap subject") {
			t.Errorf("%q: error %q does not name the subject", given, err)
		}
	}
}

// Full subjects, lists, tags, customized templates: admitted as written,
// with a warning naming the customization a form other than the default
// assumes.
func TestBootstrapSubjectForms(t *testing.T) {
	t.Parallel()
	const wf = "octo/automation/.github/workflows/build.yml@refs/heads/main"
	for _, c := range []struct {
		name     string
		issuer   string
		subjects []string
		want     []string // the trust policy's sub values
		warn     []string // substrings, one warning each
	}{
		{name: "default contexts", subjects: []string{"pull_request", "ref:refs/heads/main", "ref:refs/tags/v1", "environment:prod"},
			want: []string{"repo:octo/app:pull_request", "repo:octo/app:ref:refs/heads/main", "repo:octo/app:ref:refs/tags/v1", "repo:octo/app:environment:prod"}},
		{name: "comma-separated, as --tags", subjects: []string{"pull_request, ref:refs/heads/main", "pull_request"},
			want: []string{"repo:octo/app:pull_request", "repo:octo/app:ref:refs/heads/main"}},
		{name: "full default form", subjects: []string{"repo:octo/app:ref:refs/tags/v1"},
			want: []string{"repo:octo/app:ref:refs/tags/v1"}},
		{name: "colon escaped in a value", subjects: []string{"environment:prod%3Av1"},
			want: []string{"repo:octo/app:environment:prod%3Av1"}},
		{name: "reusable workflow after the context", subjects: []string{"environment:prod:job_workflow_ref:" + wf},
			want: []string{"repo:octo/app:environment:prod:job_workflow_ref:" + wf},
			warn: []string{`include_claim_keys ["repo","context","job_workflow_ref"]`}},
		{name: "reusable workflow after the repository", subjects: []string{"repo:octo/app:job_workflow_ref:" + wf},
			want: []string{"repo:octo/app:job_workflow_ref:" + wf},
			warn: []string{`include_claim_keys ["repo","job_workflow_ref"]`}},
		{name: "repository only", subjects: []string{"repo:octo/app"},
			want: []string{"repo:octo/app"},
			warn: []string{`include_claim_keys ["repo"], and then admits every workflow`}},
		{name: "owner id and workflow", subjects: []string{"repository_owner_id:123456:job_workflow_ref:" + wf},
			want: []string{"repository_owner_id:123456:job_workflow_ref:" + wf},
			warn: []string{"only an owner or enterprise", `include_claim_keys ["repository_owner_id","job_workflow_ref"]`}},
		{name: "repository id", subjects: []string{"repository_id:456789:ref:refs/heads/main"},
			want: []string{"repository_id:456789:ref:refs/heads/main"},
			warn: []string{`include_claim_keys ["repository_id","ref"]`}},
		{name: "pull request ref claim", subjects: []string{"ref:refs/pull/42/merge"},
			want: []string{"repo:octo/app:ref:refs/pull/42/merge"},
			warn: []string{`include_claim_keys ["repo","ref"]; the default sub of a pull request event is repo:OWNER/REPO:pull_request`}},
		{name: "unknown claim", subjects: []string{"repo:octo/app:team:images"},
			want: []string{"repo:octo/app:team:images"},
			warn: []string{`"team" is no claim GitHub documents`}},
		{name: "enterprise issuer", issuer: "https://token.actions.githubusercontent.com/octo-ent", subjects: []string{"job_workflow_ref:" + wf},
			want: []string{"job_workflow_ref:" + wf},
			warn: []string{"every repository of this issuer", `include_claim_keys ["job_workflow_ref"]`}},
	} {
		b := bsNew(t, func(p *BootstrapParams) { p.Subjects, p.Issuer = c.subjects, c.issuer })
		if diff := cmp.Diff(c.want, b.subjects); diff != "" {
			t.Errorf("%s: subjects (-want +got):\n%s", c.name, diff)
		}
		host, _ := iampolicy.OIDCProviderName(b.ProviderURL)
		for _, sub := range c.want {
			got := iampolicy.EvaluateTrust(iampolicy.Request{
				Principal: map[string]string{"Federated": b.ProviderARN},
				Action:    iampolicy.ActionAssumeRoleWithWebIdentity,
				Resource:  b.RoleARN,
				Context:   map[string][]string{host + ":aud": {DefaultBootstrapAudience}, host + ":sub": {sub}},
			}, b.Trust)
			if got != iampolicy.Allow {
				t.Errorf("%s: a token with sub %q: %v, want Allow", c.name, sub, got)
			}
		}
		if len(b.Warnings) != len(c.warn) {
			t.Errorf("%s: warnings %q, want %d", c.name, b.Warnings, len(c.warn))
			continue
		}
		for i, w := range c.warn {
			if !strings.Contains(b.Warnings[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", c.name, b.Warnings[i], w)
			}
		}
	}
}

// A wildcard in the context's kind, or before refs/heads/ or refs/tags/,
// admits every event or every branch and tag: refused, as a bare "*" is.
// A family of branches stays a warning.
func TestBootstrapSubjectWildcardContexts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, want string }{
		{"*:*", `the context "*" has a wildcard`},
		{"*:foo", `the context "*" has a wildcard`},
		{"env*:prod", `the context "env*" has a wildcard`},
		{"repo:octo/app:*:*", `the context "*" has a wildcard`},
		{"ref:*", `"ref:*" has a wildcard before refs/heads/ or refs/tags/, so it admits every branch and tag; name refs/heads/... or refs/tags/... explicitly`},
		{"ref:refs/*", "admits every branch and tag"},
		{"ref:refs/head?/main", "admits every branch and tag"},
		{"repo:octo/app:ref:*", "admits every branch and tag"},
		{"pull_request,ref:*", "admits every branch and tag"},
	} {
		b, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Subjects: []string{c.given}})
		if err == nil {
			t.Errorf("%q: admitted %s", c.given, b.Trust.JSON())
		} else if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bootstrap subject") {
			t.Errorf("%q: error %q, want it to say %q", c.given, err, c.want)
		}
	}
	for _, given := range []string{"ref:refs/heads/release/*", "ref:refs/tags/v1.*", "ref:refs/heads/*"} {
		b := bsNew(t, func(p *BootstrapParams) { p.Subjects = []string{given} })
		if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "has a wildcard") {
			t.Errorf("%q: warnings %q, want one about the wildcard", given, b.Warnings)
		}
	}
}

// An event whose sub is its ref: the fix names the branch to fill in, not
// a branch called after the event.
func TestBootstrapSubjectRefEvents(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, want string }{
		{"push", `GitHub's sub for a push event is the ref it runs on, ref:refs/heads/BRANCH: give "ref:refs/heads/BRANCH" naming the branch (ref:refs/tags/TAG for a tag)`},
		{"repo:octo/app:push", `give "repo:octo/app:ref:refs/heads/BRANCH" naming the branch`},
		{"workflow_dispatch", `a workflow_dispatch event is the ref it runs on`},
	} {
		_, err := NewBootstrap(BootstrapParams{AccountID: bsAccount, Repository: "octo/app", Subjects: []string{c.given}})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "refs/heads/"+strings.TrimPrefix(c.given, "repo:octo/app:")) {
			t.Errorf("%q: error %v, want it to say %q", c.given, err, c.want)
		}
	}
}
