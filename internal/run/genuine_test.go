package run

import (
	"regexp"
	"strings"
	"testing"
	"time"
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
		if instance, why, _ := TrustProblem(c.doc, "aws", acct, nil); why != "" || instance != c.instance {
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
		if _, why, _ := TrustProblem(c.doc, "aws", acct, nil); !strings.Contains(why, c.want) {
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
	gate, err := NewJobGate("buildrole-bootstrap", bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	build := func(aud, sub string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"` + aud + `","token.actions.githubusercontent.com:sub":"` + sub + `"}}}]}`
	}
	// Another repository's subject may be another bootstrap role's run on
	// the same path: a doubt, not a verdict.
	for sub, want := range map[string]struct{ why, doubt string }{
		"repo:acme/images:pull_request":           {},
		"repo:acme/images:ref:refs/heads/main":    {},
		"repo:acme/images:environment:prod":       {why: "does not admit"},
		"repo:evil/fork:ref:refs/heads/main":      {doubt: "buildrole-bootstrap does not admit"},
		"repo:acme/images-other:ref:refs/heads/x": {doubt: "does not admit"},
		"system:serviceaccount:x:y":               {doubt: "does not admit"},
	} {
		_, why, doubt := TrustProblem(build("sts.amazonaws.com", sub), "aws", acct, gate)
		if !strings.Contains(why, want.why) || (want.why == "") != (why == "") || !strings.Contains(doubt, want.doubt) || (want.doubt == "") != (doubt == "") {
			t.Errorf("%s: why %q, doubt %q; want %q, %q", sub, why, doubt, want.why, want.doubt)
		}
	}
	if _, why, _ := TrustProblem(build("other", "repo:acme/images:pull_request"), "aws", acct, gate); !strings.Contains(why, "does not admit") {
		t.Errorf("another audience: %q", why)
	}
	// A trust that conditions more than aud and sub cannot tell.
	if _, err := NewJobGate("buildrole-bootstrap", strings.Replace(bootstrap, `"StringLike":{`, `"StringLike":{"token.actions.githubusercontent.com:job_workflow_ref":"acme/*",`, 1)); err == nil || !strings.Contains(err.Error(), "job_workflow_ref") {
		t.Errorf("extra claim: %v", err)
	}
}

// With the bootstrap role known, a chain-mode run trusts a session of it
// (up as a job that had assumed it); any other role, session or user of
// the account is planted. Without it, the form alone is checked.
func TestChainTrustWithJobGate(t *testing.T) {
	t.Parallel()
	const acct = "123456789012"
	gate, err := NewJobGate("buildrole-bootstrap", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::`+acct+`:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/images:pull_request"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	chain := func(p string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"BootstrapAssumeRole","Effect":"Allow","Principal":{"AWS":"` + p + `"},"Action":"sts:AssumeRole"}]}`
	}
	for p, planted := range map[string]bool{
		"arn:aws:sts::" + acct + ":assumed-role/buildrole-bootstrap/GitHubActions-42": false,
		"arn:aws:sts::" + acct + ":assumed-role/BuildRole-Bootstrap/s":                false,
		"arn:aws:iam::" + acct + ":role/AWSReservedSSO_ReadOnly_x":                    true,
		"arn:aws:iam::" + acct + ":user/bob":                                          true,
		"arn:aws:iam::" + acct + ":role/buildrole-bootstrap":                          true,
		"arn:aws:sts::" + acct + ":assumed-role/buildrole-run-1/s":                    true,
		"arn:aws:sts::" + acct + ":assumed-role/buildrole-bootstrap":                  true,
		"arn:aws:sts::" + acct + ":assumed-role/buildrole-bootstrap/":                 true,
		"arn:aws:sts::" + acct + ":assumed-role/buildrole-bootstrap-x/s":              true,
	} {
		_, why, _ := TrustProblem(chain(p), "aws", acct, gate)
		if planted != (why != "") || planted && !strings.Contains(why, "no session of the bootstrap role buildrole-bootstrap") {
			t.Errorf("%s: %q", p, why)
		}
		if _, why, _ := TrustProblem(chain(p), "aws", acct, nil); why != "" {
			t.Errorf("%s without the bootstrap role: %q", p, why)
		}
	}
}

// The bootstrap role's Description carries max-ttl within IAM's limits on
// a role description, and reads back.
func TestBootstrapDescriptionMaxTTL(t *testing.T) {
	t.Parallel()
	iamDescription := regexp.MustCompile("^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$")
	for _, d := range []time.Duration{MinTTL, 90 * time.Minute, DefaultMaxTTL, 3 * 24 * time.Hour, MaxTTL, 5*time.Minute + 30*time.Second} {
		desc := BootstrapDescription(d)
		if len(desc) > 1000 || !iamDescription.MatchString(desc) {
			t.Errorf("%s: %q is no IAM role description", d, desc)
		}
		got, ok, err := MaxTTLOf(desc)
		if got != d || !ok || err != nil {
			t.Errorf("MaxTTLOf(%q) = %s, %v, %v; want %s", desc, got, ok, err, d)
		}
	}
	for desc, wantOK := range map[string]bool{
		"": false,
		"Assumed by buildrole in GitHub Actions to create and delete per-run roles": false,
		"mine; max-ttl=forever": true,
		"mine; max-ttl=31d":     true,
		"mine; max-ttl=1m":      true,
	} {
		if d, ok, err := MaxTTLOf(desc); ok != wantOK || d != 0 || (ok && err == nil) {
			t.Errorf("MaxTTLOf(%q) = %s, %v, %v", desc, d, ok, err)
		}
	}
	if d, ok, err := MaxTTLOf("hand-written; max-ttl=3d ; owner=platform"); d != 72*time.Hour || !ok || err != nil {
		t.Errorf("a description with more parts: %s, %v, %v", d, ok, err)
	}
}
