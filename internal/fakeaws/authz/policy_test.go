package authz

import "testing"

func TestTrustEvaluation(t *testing.T) {
	t.Parallel()
	const prov = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	req := Request{
		Action:        "sts:AssumeRoleWithWebIdentity",
		PrincipalType: "Federated",
		Principals:    []string{prov},
		Context: map[string][]string{
			"token.actions.githubusercontent.com:aud": {"sts.amazonaws.com"},
			"token.actions.githubusercontent.com:sub": {"repo:o/r:ref:refs/heads/main"},
		},
	}
	stmt := func(effect, action, cond string) string {
		c := ""
		if cond != "" {
			c = `,"Condition":` + cond
		}
		return `{"Effect":"` + effect + `","Principal":{"Federated":"` + prov + `"},"Action":` + action + c + `}`
	}
	tests := []struct {
		name       string
		statements string
		want       bool
	}{
		{"plain allow", stmt("Allow", `"sts:AssumeRoleWithWebIdentity"`, ""), true},
		{"action list", stmt("Allow", `["sts:TagSession","sts:AssumeRoleWithWebIdentity"]`, ""), true},
		{"action wildcard", stmt("Allow", `"sts:Assume*"`, ""), true},
		{"action star", stmt("Allow", `"*"`, ""), true},
		{"action case-insensitive", stmt("Allow", `"STS:assumerolewithwebidentity"`, ""), true},
		{"other action", stmt("Allow", `"sts:AssumeRole"`, ""), false},
		{"other principal", `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:*"}`, false},
		{"principal star", `{"Effect":"Allow","Principal":"*","Action":"sts:*"}`, true},
		{"StringEquals list", stmt("Allow", `"sts:*"`, `{"StringEquals":{"token.actions.githubusercontent.com:sub":["x","repo:o/r:ref:refs/heads/main"]}}`), true},
		{"StringEquals miss", stmt("Allow", `"sts:*"`, `{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:o/r:pull_request"}}`), false},
		{"key case-insensitive", stmt("Allow", `"sts:*"`, `{"StringEquals":{"Token.Actions.GitHubUserContent.com:AUD":"sts.amazonaws.com"}}`), true},
		{"StringLike star", stmt("Allow", `"sts:*"`, `{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:o/*"}}`), true},
		{"StringLike question", stmt("Allow", `"sts:*"`, `{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:?/r:ref:refs/heads/mai?"}}`), true},
		{"StringLike miss", stmt("Allow", `"sts:*"`, `{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:x/*"}}`), false},
		{"StringNotEquals", stmt("Allow", `"sts:*"`, `{"StringNotEquals":{"token.actions.githubusercontent.com:sub":"repo:o/r:pull_request"}}`), true},
		{"StringNotEquals hit", stmt("Allow", `"sts:*"`, `{"StringNotEquals":{"token.actions.githubusercontent.com:sub":"repo:o/r:ref:refs/heads/main"}}`), false},
		{"missing key", stmt("Allow", `"sts:*"`, `{"StringEquals":{"token.actions.githubusercontent.com:environment":"prod"}}`), false},
		{"missing key IfExists", stmt("Allow", `"sts:*"`, `{"StringEqualsIfExists":{"token.actions.githubusercontent.com:environment":"prod"}}`), true},
		{"ForAnyValue", stmt("Allow", `"sts:*"`, `{"ForAnyValue:StringLike":{"token.actions.githubusercontent.com:sub":["a","repo:o/r:*"]}}`), true},
		{"all conditions must hold", stmt("Allow", `"sts:*"`, `{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:x/*"}}`), false},
		{"unknown operator never matches", stmt("Allow", `"sts:*"`, `{"NumericLessThan":{"token.actions.githubusercontent.com:aud":"1"}}`), false},
		{"deny wins", stmt("Allow", `"sts:*"`, "") + "," + stmt("Deny", `"sts:AssumeRoleWithWebIdentity"`, ""), false},
		{"non-matching deny", stmt("Allow", `"sts:*"`, "") + "," + stmt("Deny", `"sts:*"`, `{"StringLike":{"token.actions.githubusercontent.com:sub":"*:pull_request"}}`), true},
	}
	for _, tt := range tests {
		p, e := Parse(`{"Version":"2012-10-17","Statement":[` + tt.statements + `]}`)
		if e != nil {
			t.Fatalf("%s: %v", tt.name, e)
		}
		if got := p.Allows(req); got != tt.want {
			t.Errorf("%s: allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*:ref:refs/heads/*", "repo:o/r:ref:refs/heads/main", true},
		{"repo:o/r", "repo:o/r:x", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// A policy variable in a condition takes the request's value.
func TestConditionVariables(t *testing.T) {
	t.Parallel()
	p, m := Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:TagRole","Resource":"*"},
		{"Effect":"Deny","Action":"iam:TagRole","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestTag/run":"${aws:ResourceTag/run}"}}}]}`)
	if m != nil {
		t.Fatal(m)
	}
	for _, c := range []struct {
		have string
		want Decision
	}{{"a", Allowed}, {"b", ExplicitDeny}} {
		req := Request{Action: "iam:TagRole", Resource: "*", Context: map[string][]string{"aws:requesttag/run": {c.have}, "aws:resourcetag/run": {"a"}}}
		if got, _ := Identity(req, []*Policy{p}, nil); got != c.want {
			t.Errorf("run %s on a resource of run a: %v, want %v", c.have, got, c.want)
		}
	}
}
