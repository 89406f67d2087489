package iampolicy

import "testing"

func mustParse(t *testing.T, s string) Document {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func TestDecisionString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    Decision
		want string
	}{
		{ImplicitDeny, "ImplicitDeny"},
		{Allow, "Allow"},
		{ExplicitDeny, "ExplicitDeny"},
		{Decision(7), "Decision(7)"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestEvaluateMatching(t *testing.T) {
	t.Parallel()
	const bucket = "arn:aws:s3:::my-bucket"
	tests := []struct {
		name   string
		policy string
		req    Request
		want   Decision
	}{
		{"exact action and resource",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/key"}}`,
			Request{Action: "s3:GetObject", Resource: bucket + "/key"}, Allow},
		{"action case-insensitive",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}}`,
			Request{Action: "s3:GetObject", Resource: bucket}, Allow},
		{"action wildcard",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`,
			Request{Action: "s3:GetObjectAcl", Resource: bucket}, Allow},
		{"action wildcard does not reach another action",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`,
			Request{Action: "s3:PutObject", Resource: bucket}, ImplicitDeny},
		{"action single-character wildcard",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:?escribeImages","Resource":"*"}}`,
			Request{Action: "ec2:DescribeImages", Resource: "*"}, Allow},
		{"action of another service",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
			Request{Action: "s3x:GetObject", Resource: "*"}, ImplicitDeny},
		{"star action",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
			Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::123456789012:role/x"}, Allow},
		{"resource wildcard",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}}`,
			Request{Action: "s3:GetObject", Resource: bucket + "/a/b"}, Allow},
		{"resource case-sensitive",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::My-Bucket/*"}}`,
			Request{Action: "s3:GetObject", Resource: bucket + "/a"}, ImplicitDeny},
		{"resource ? wildcard",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/?"}}`,
			Request{Action: "s3:GetObject", Resource: bucket + "/ab"}, ImplicitDeny},
		{"resource wildcard stays inside its ARN part",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:us-*:123456789012:instance/*"}}`,
			Request{Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1:210987654321:x:123456789012:instance/i"}, ImplicitDeny},
		{"request on * needs a * resource",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:DescribeImages","Resource":"arn:aws:ec2:*:*:image/*"}}`,
			Request{Action: "ec2:DescribeImages", Resource: "*"}, ImplicitDeny},
		{"NotAction allows everything else",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["iam:*","sts:*"],"Resource":"*"}}`,
			Request{Action: "ec2:RunInstances", Resource: "*"}, Allow},
		{"NotAction excludes its actions",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["iam:*","sts:*"],"Resource":"*"}}`,
			Request{Action: "iam:PassRole", Resource: "*"}, ImplicitDeny},
		{"NotResource allows other resources",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}}`,
			Request{Action: "s3:GetObject", Resource: bucket + "/k"}, Allow},
		{"NotResource excludes its resources",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}}`,
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::secret/k"}, ImplicitDeny},
		{"condition holds",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}}`,
			Request{Action: "ec2:RunInstances", Resource: "*", Context: map[string][]string{"AWS:REQUESTEDREGION": {"eu-west-1"}}}, Allow},
		{"condition fails",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}}`,
			Request{Action: "ec2:RunInstances", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}}, ImplicitDeny},
		{"no statement matches",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
			Request{Action: "s3:PutObject", Resource: "*"}, ImplicitDeny},
		{"deny beats allow",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}`,
			Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::123456789012:role/x"}, ExplicitDeny},
		{"deny with failing condition does not apply",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			Request{Action: "s3:GetObject", Resource: "*", Context: map[string][]string{"aws:SecureTransport": {"true"}}}, Allow},
		{"deny outside regions with StringNotEquals",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}`,
			Request{Action: "ec2:RunInstances", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}}, ExplicitDeny},
		{"identity policies ignore Principal",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}}`,
			Request{Action: "s3:GetObject", Resource: "*"}, Allow},
		{"identity statement without resource never applies",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}`,
			Request{Action: "s3:GetObject", Resource: "*"}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Evaluate(tt.req, []Document{mustParse(t, tt.policy)}, nil)
			if got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateAcrossPolicies(t *testing.T) {
	t.Parallel()
	allowS3 := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`)
	allowEC2 := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)
	denyDelete := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}}`)
	boundaryS3Read := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:Get*","s3:Delete*","ec2:Describe*"],"Resource":"*"}}`)
	boundaryDenyGet := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`)
	tests := []struct {
		name     string
		action   string
		identity []Document
		boundary *Document
		want     Decision
	}{
		{"allowed by second policy", "ec2:RunInstances", []Document{allowS3, allowEC2}, nil, Allow},
		{"deny in another policy wins", "s3:DeleteObject", []Document{allowS3, denyDelete}, nil, ExplicitDeny},
		{"no identity policy", "s3:GetObject", nil, nil, ImplicitDeny},
		{"identity and boundary allow", "s3:GetObject", []Document{allowS3}, &boundaryS3Read, Allow},
		{"boundary does not allow", "s3:PutObject", []Document{allowS3}, &boundaryS3Read, ImplicitDeny},
		{"boundary allows but identity does not", "ec2:DescribeImages", []Document{allowS3}, &boundaryS3Read, ImplicitDeny},
		{"deny in identity with boundary", "s3:DeleteObject", []Document{allowS3, denyDelete}, &boundaryS3Read, ExplicitDeny},
		{"deny in boundary", "s3:GetObject", []Document{allowS3}, &boundaryDenyGet, ExplicitDeny},
		{"empty boundary allows nothing", "s3:GetObject", []Document{allowS3}, &Document{Version: Version}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Evaluate(Request{Action: tt.action, Resource: "*"}, tt.identity, tt.boundary)
			if got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateTrustPrincipals(t *testing.T) {
	t.Parallel()
	const (
		acct      = "123456789012"
		other     = "210987654321"
		role      = "arn:aws:iam::123456789012:role/ci/buildrole-bootstrap"
		session   = "arn:aws:sts::123456789012:assumed-role/buildrole-bootstrap/run-1"
		otherRole = "arn:aws:iam::123456789012:role/other"
	)
	trust := func(principal string) Document {
		return mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":`+principal+`,"Action":"sts:AssumeRole"}}`)
	}
	tests := []struct {
		name   string
		policy Document
		caller map[string]string
		want   Decision
	}{
		{"role ARN", trust(`{"AWS":"` + role + `"}`), map[string]string{"AWS": role}, Allow},
		{"session of the role", trust(`{"AWS":"` + role + `"}`), map[string]string{"AWS": session}, Allow},
		{"session of another role", trust(`{"AWS":"` + otherRole + `"}`), map[string]string{"AWS": session}, ImplicitDeny},
		{"session in another account", trust(`{"AWS":"` + role + `"}`), map[string]string{"AWS": "arn:aws:sts::" + other + ":assumed-role/buildrole-bootstrap/s"}, ImplicitDeny},
		{"account id", trust(`{"AWS":"` + acct + `"}`), map[string]string{"AWS": otherRole}, Allow},
		{"account root ARN", trust(`{"AWS":"arn:aws:iam::` + acct + `:root"}`), map[string]string{"AWS": session}, Allow},
		{"other account root", trust(`{"AWS":"arn:aws:iam::` + other + `:root"}`), map[string]string{"AWS": role}, ImplicitDeny},
		{"star principal", trust(`"*"`), map[string]string{"AWS": role}, Allow},
		{"AWS star", trust(`{"AWS":"*"}`), map[string]string{"AWS": role}, Allow},
		{"service", trust(`{"Service":"ec2.amazonaws.com"}`), map[string]string{"Service": "ec2.amazonaws.com"}, Allow},
		{"other service", trust(`{"Service":"ec2.amazonaws.com"}`), map[string]string{"Service": "lambda.amazonaws.com"}, ImplicitDeny},
		{"type must match", trust(`{"Service":"ec2.amazonaws.com"}`), map[string]string{"AWS": "ec2.amazonaws.com"}, ImplicitDeny},
		{"no caller", trust(`{"AWS":"` + role + `"}`), nil, ImplicitDeny},
		{"statement without principal never applies", mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`), map[string]string{"AWS": role}, ImplicitDeny},
		{"NotPrincipal excludes", mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","NotPrincipal":{"AWS":"`+role+`"},"Action":"sts:AssumeRole"}]}`), map[string]string{"AWS": otherRole}, ExplicitDeny},
		{"NotPrincipal spares", mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","NotPrincipal":{"AWS":"`+role+`"},"Action":"sts:AssumeRole"}]}`), map[string]string{"AWS": role}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := Request{Principal: tt.caller, Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/target"}
			if got := EvaluateTrust(req, tt.policy); got != tt.want {
				t.Errorf("EvaluateTrust = %v, want %v", got, tt.want)
			}
		})
	}
}

// Policy variables resolve from the request context, in Resource and in
// condition values; one without a value matches nothing.
func TestEvaluatePolicyVariables(t *testing.T) {
	t.Parallel()
	const own = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:TerminateSession","Resource":"arn:aws:ssm:*:123456789012:session/*",
		"Condition":{"StringEquals":{"ssm:resourceTag/aws:ssmmessages:session-id":"${aws:userid}"}}}}`
	const byName = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`
	const legacy = `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`
	const withDefault = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username, 'common'}/*"}}`
	const rewrite = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*"},
		{"Effect":"Deny","Action":"ec2:CreateTags","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestTag/run":"${aws:ResourceTag/run}"}}}]}`
	session := "arn:aws:ssm:us-east-1:123456789012:session/build-1-0abc"
	tests := []struct {
		name, policy string
		req          Request
		want         Decision
	}{
		{"own session", own, Request{Action: "ssm:TerminateSession", Resource: session, Context: map[string][]string{"aws:userid": {"AROA1:build-1"}, "ssm:resourceTag/aws:ssmmessages:session-id": {"AROA1:build-1"}}}, Allow},
		{"someone else's session", own, Request{Action: "ssm:TerminateSession", Resource: session, Context: map[string][]string{"aws:userid": {"AROA1:build-1"}, "ssm:resourceTag/aws:ssmmessages:session-id": {"AIDAALICE"}}}, ImplicitDeny},
		{"no caller id", own, Request{Action: "ssm:TerminateSession", Resource: session, Context: map[string][]string{"ssm:resourceTag/aws:ssmmessages:session-id": {"AROA1:build-1"}}}, ImplicitDeny},
		{"resource variable", byName, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: map[string][]string{"aws:username": {"alice"}}}, Allow},
		{"resource variable, other user", byName, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/bob/x", Context: map[string][]string{"aws:username": {"alice"}}}, ImplicitDeny},
		{"resource variable without value matches nothing", byName, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/x"}, ImplicitDeny},
		{"legacy version has no variables", legacy, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/x", Context: map[string][]string{"aws:username": {"alice"}}}, Allow},
		{"default value", withDefault, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/common/x"}, Allow},
		{"same tag value passes the deny", rewrite, Request{Action: "ec2:CreateTags", Resource: "*", Context: map[string][]string{"aws:RequestTag/run": {"a"}, "aws:ResourceTag/run": {"a"}}}, Allow},
		{"changed tag value is denied", rewrite, Request{Action: "ec2:CreateTags", Resource: "*", Context: map[string][]string{"aws:RequestTag/run": {"b"}, "aws:ResourceTag/run": {"a"}}}, ExplicitDeny},
		{"negated operator holds when the variable has no value", rewrite, Request{Action: "ec2:CreateTags", Resource: "*", Context: map[string][]string{"aws:RequestTag/run": {"b"}}}, ExplicitDeny},
	}
	for _, tt := range tests {
		if got := Evaluate(tt.req, []Document{mustParse(t, tt.policy)}, nil); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
