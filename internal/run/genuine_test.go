package run

import (
	"strings"
	"testing"
)

// The forms buildrole writes pass, in either of IAM's spellings of one
// value; everything a job could plant instead is named.
func TestTrustProblem(t *testing.T) {
	t.Parallel()
	const (
		acct = "123456789012"
		prov = "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com"
		ec2  = `{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`
		web  = `{"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/images:pull_request"}}}`
	)
	doc := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	fine := map[string]struct {
		doc      string
		instance bool
	}{
		"instance":           {doc(ec2), true},
		"web identity":       {doc(web), false},
		"shared":             {doc(web, ec2), false},
		"chain session":      {doc(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:sts::` + acct + `:assumed-role/ci/i-1"]},"Action":["sts:AssumeRole"]}`), false},
		"chain user, shared": {doc(`{"Sid":"BootstrapAssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/admin"},"Action":"sts:AssumeRole"}`, ec2), false},
		"enterprise issuer":  {doc(`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/ghe.example.com/_services/token"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"ghe.example.com/_services/token:aud":["sts.amazonaws.com"],"GHE.example.com/_services/token:sub":"repo:acme/images:ref:refs/heads/main"}}}`), false},
	}
	for name, c := range fine {
		if instance, why := TrustProblem(c.doc, "aws", acct, nil); why != "" || instance != c.instance {
			t.Errorf("%s: instance %v, %q", name, instance, why)
		}
	}
	bad := map[string]struct{ doc, want string }{
		"not json":          {`{`, "not one buildrole writes"},
		"foreign account":   {doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}`), "999999999999"},
		"whole account":     {doc(`{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}`), "not a role"},
		"anyone":            {doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), "any principal"},
		"string like":       {doc(strings.Replace(web, `"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com",`, `"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{`, 1)), "StringLike"},
		"two subjects":      {doc(strings.Replace(web, `"repo:acme/images:pull_request"`, `["repo:acme/images:pull_request","repo:evil/x:pull_request"]`, 1)), "2 subjects"},
		"not a github sub":  {doc(strings.Replace(web, `repo:acme/images:pull_request`, `system:serviceaccount:x:y`, 1)), "no GitHub job's"},
		"other key":         {doc(strings.Replace(web, `:aud"`, `:actor"`, 1)), "never binds"},
		"foreign provider":  {doc(strings.Replace(web, acct, "999999999999", 1)), "identity providers"},
		"two jobs":          {doc(web, web), "2 statements for jobs"},
		"two ec2":           {doc(ec2, ec2), "for EC2"},
		"lambda":            {doc(strings.Replace(ec2, "ec2.", "lambda.", 1)), "lambda.amazonaws.com"},
		"not principal":     {doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::` + acct + `:user/x"},"Action":"sts:AssumeRole"}`), "NotPrincipal"},
		"tag session too":   {doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/x"},"Action":["sts:AssumeRole","sts:TagSession"]}`), "2 actions"},
		"deny":              {doc(strings.Replace(ec2, "Allow", "Deny", 1)), "not an Allow"},
		"saml":              {doc(`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:saml-provider/x"},"Action":"sts:AssumeRoleWithSAML"}`), "identity providers"},
		"conditioned chain": {doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/x"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`), "conditions"},
	}
	for name, c := range bad {
		if _, why := TrustProblem(c.doc, "aws", acct, nil); !strings.Contains(why, c.want) {
			t.Errorf("%s: %q, want it to name %q", name, why, c.want)
		}
	}
}

// With the bootstrap role's trust known, a build role may trust only a job
// it admits: another repository's exact subject, or another audience, is
// not buildrole's.
func TestTrustProblemWithJobGate(t *testing.T) {
	t.Parallel()
	const (
		acct = "123456789012"
		prov = "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com"
	)
	bootstrap := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/images:pull_request","repo:acme/images:ref:refs/heads/*"]}}}]}`
	gate, err := NewJobGate(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	build := func(aud, sub string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"` + aud + `","token.actions.githubusercontent.com:sub":"` + sub + `"}}}]}`
	}
	for sub, want := range map[string]string{
		"repo:acme/images:pull_request":           "",
		"repo:acme/images:ref:refs/heads/main":    "",
		"repo:evil/fork:ref:refs/heads/main":      "does not admit",
		"repo:acme/images:environment:prod":       "does not admit",
		"repo:acme/images-other:ref:refs/heads/x": "does not admit",
	} {
		if _, why := TrustProblem(build("sts.amazonaws.com", sub), "aws", acct, gate); !strings.Contains(why, want) || (want == "") != (why == "") {
			t.Errorf("%s: %q, want %q", sub, why, want)
		}
	}
	if _, why := TrustProblem(build("other", "repo:acme/images:pull_request"), "aws", acct, gate); !strings.Contains(why, "does not admit") {
		t.Errorf("another audience: %q", why)
	}
	// A trust that conditions more than aud and sub cannot tell.
	if _, err := NewJobGate(strings.Replace(bootstrap, `"StringLike":{`, `"StringLike":{"token.actions.githubusercontent.com:job_workflow_ref":"acme/*",`, 1)); err == nil || !strings.Contains(err.Error(), "job_workflow_ref") {
		t.Errorf("extra claim: %v", err)
	}
}
