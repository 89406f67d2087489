package policylint

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

var update = flag.Bool("update", false, "rewrite testdata/lint/*.out from the linter's output")

// lintCaseOptions are the options of the cases that need some; every other
// case is an identity policy with default options.
var lintCaseOptions = map[string]LintOptions{
	"trust-with-resource":        {Kind: TrustPolicy},
	"trust-github-no-sub":        {Kind: TrustPolicy},
	"trust-anyone":               {Kind: TrustPolicy},
	"trust-clean":                {Kind: TrustPolicy},
	"trust-over-size":            {Kind: TrustPolicy},
	"trust-duplicate-condition":  {Kind: TrustPolicy},
	"trust-github-sub-wildcards": {Kind: TrustPolicy, MaxSize: 4096},
	"trust-github-sub-negated":   {Kind: TrustPolicy, MaxSize: 4096},
	"passrole-outside-allowlist": {AllowedPassRoleARNs: []string{"arn:aws:iam::123456789012:role/buildrole/web-pr42-3f9c2a1b-vm"}},
	"clean-least-privilege":      {AllowedPassRoleARNs: []string{"arn:aws:iam::123456789012:role/buildrole/web-pr42-3f9c2a1b-vm"}},
	"over-size-custom":           {MaxSize: 100},
}

// formatFindings renders findings as the .out files hold them, one a line:
// "file:line:col: severity: message [rule]" — Finding.String with the
// severity added, so the files pin severities too.
func formatFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s:%d:%d: %s: %s [%s]\n", f.File, f.Line, f.Col, f.Severity, f.Message, f.Rule)
	}
	return b.String()
}

// TestLintCases runs the linter over testdata/lint/<case>.json and compares
// with <case>.out. Run with -update to rewrite the .out files, then review
// the diff.
func TestLintCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "lint", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d cases in testdata/lint, want at least 20", len(files))
	}
	rulesSeen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fs := Lint(filepath.Base(file), data, lintCaseOptions[name])
		for _, f := range fs {
			rulesSeen[f.Rule] = true
		}
		got := formatFindings(fs)
		outFile := strings.TrimSuffix(file, ".json") + ".out"
		if *update {
			if err := os.WriteFile(outFile, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLintCases -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("findings differ (-want +got):\n%s", lineDiff(string(want), got))
			}
		})
	}
	if *update {
		return
	}
	for _, rule := range []string{
		RuleJSON, RuleGrammar, RuleUnknownAction, RuleWildcardAction, RuleNotAction,
		RulePassRoleWildcard, RulePassRoleScope, RulePrivilegeEscalation, RuleSize,
		RuleConditionOperator, RuleConditionKey, RuleTrustPrincipal, RuleTrustSubject,
	} {
		if !rulesSeen[rule] {
			t.Errorf("no case exercises rule %q", rule)
		}
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w := strings.Split(strings.TrimRight(want, "\n"), "\n")
	g := strings.Split(strings.TrimRight(got, "\n"), "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order)\n"
	}
	return b.String()
}

func TestFindingString(t *testing.T) {
	f := Finding{File: "p.json", Line: 3, Col: 14, Severity: Warning, Rule: RuleWildcardAction, Message: "too broad"}
	if got, want := f.String(), "p.json:3:14: too broad [wildcard-action]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := Error.String() + "," + Warning.String(); got != "error,warning" {
		t.Errorf("severities = %q", got)
	}
}

func TestKnownAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action              string
		known, serviceKnown bool
	}{
		{"ec2:RunInstances", true, true},
		{"EC2:runinstances", true, true}, // IAM matches actions case-insensitively
		{"ec2:CreateKeypair", true, true},
		{"ec2:CreateKeypairs", false, true},
		{"ec2:Describe*", true, true},
		{"ec2:Descr?be*", true, true},
		{"ec2:Nothing*", false, true},
		{"ec2:*", true, true},
		{"*", true, true},
		{"iam:PassRole", true, true}, // permission-only, added by hand
		{"sts:TagSession", true, true},
		{"kms:ReEncryptFrom", true, true},
		{"kms:ReEncrypt", false, true}, // authorized as ReEncryptFrom and ReEncryptTo
		{"kms:ReEncrypt*", true, true},
		{"logs:CreateLogStream", true, true},
		{"s3:GetObject", true, true},
		{"s3:ListBucket", true, true},
		{"s3:ListObjectsV2", false, true}, // an API name, authorized as s3:ListBucket
		{"ssm:StartSession", true, true},
		{"ssmmessages:OpenDataChannel", true, true},
		{"ec2messages:GetMessages", true, true},
		{"ecr:GetAuthorizationToken", true, true},
		{"lambda:CreateFunction", false, false}, // not catalogued
		{"e*:RunInstances", true, true},
		{"RunInstances", false, false},
		{"ec2:Run Instances", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		known, serviceKnown := KnownAction(tt.action)
		if known != tt.known || serviceKnown != tt.serviceKnown {
			t.Errorf("KnownAction(%q) = %v, %v; want %v, %v", tt.action, known, serviceKnown, tt.known, tt.serviceKnown)
		}
	}
}

func TestCatalogueSortedAndCoversPacker(t *testing.T) {
	t.Parallel()
	if len(actionCatalogue) != 10 {
		t.Errorf("catalogue has %d services, want 10", len(actionCatalogue))
	}
	for svc, names := range actionCatalogue {
		if !slices.IsSorted(names) {
			t.Errorf("catalogue %s is not sorted", svc)
		}
		if len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("catalogue %s has duplicates", svc)
		}
	}
	for _, a := range slices.Concat(packerEC2Actions(), []string{iampolicy.ActionPassRole, iampolicy.ActionGetInstanceProfile, iampolicy.ActionAssumeRole, iampolicy.ActionAssumeRoleWithWebIdentity}) {
		if known, _ := KnownAction(a); !known {
			t.Errorf("action %s used by the generators is not in the catalogue", a)
		}
	}
}

func TestHasErrors(t *testing.T) {
	t.Parallel()
	w := Finding{Severity: Warning}
	e := Finding{Severity: Error}
	for _, tt := range []struct {
		fs   []Finding
		want bool
	}{
		{nil, false},
		{[]Finding{w}, false},
		{[]Finding{w, e}, true},
		{[]Finding{e}, true},
	} {
		if got := HasErrors(tt.fs); got != tt.want {
			t.Errorf("HasErrors(%v) = %v, want %v", tt.fs, got, tt.want)
		}
	}
	if !HasErrors(Lint("x.json", []byte(`{`), LintOptions{})) {
		t.Error("malformed JSON has no error")
	}
}

func TestLintPositions(t *testing.T) {
	t.Parallel()
	// Line and column of each finding, in characters: the é and the tab
	// before "ec2:CreateKeypairs" must count as one column each.
	doc := "{\n" +
		"  \"Version\": \"2012-10-17\",\n" +
		"  \"Statement\": [{\n" +
		"    \"Sid\": \"Caf\u00e9\",\n" +
		"    \"Effect\": \"Allow\",\n" +
		"    \"Action\": [\"ec2:DescribeImages\",\t\"ec2:CreateKeypairs\"],\n" +
		"    \"Resource\": \"*\",\n" +
		"    \"Condition\": {\"StringEqual\": {\"aws:RequestRegion\": \"us-east-1\"}}\n" +
		"  }]\n" +
		"}\n"
	got := map[string][2]int{}
	for _, f := range Lint("p.json", []byte(doc), LintOptions{}) {
		got[f.Rule] = [2]int{f.Line, f.Col}
	}
	want := map[string][2]int{
		RuleGrammar:           {4, 12}, // the Sid value "Café"
		RuleUnknownAction:     {6, 38}, // "ec2:CreateKeypairs", after a tab
		RuleConditionOperator: {8, 19},
		RuleConditionKey:      {8, 35},
	}
	for rule, pos := range want {
		if got[rule] != pos {
			t.Errorf("%s at %v, want %v", rule, got[rule], pos)
		}
	}

	// Syntax errors: the offending character, or the end of the input.
	for _, tt := range []struct {
		doc       string
		line, col int
	}{
		{"{\n  \"Version\": \"2012-10-17\",\n}\n", 3, 1},
		{"{\"Version\" \"2012-10-17\"}", 1, 12},
		{"{\n  \"Statement\": [\n", 2, 17},
		{"{} x", 1, 4},
	} {
		fs := Lint("p.json", []byte(tt.doc), LintOptions{})
		if len(fs) != 1 || fs[0].Rule != RuleJSON || fs[0].Line != tt.line || fs[0].Col != tt.col {
			t.Errorf("Lint(%q) = %v, want one json finding at %d:%d", tt.doc, fs, tt.line, tt.col)
		}
	}
}

func TestLintSorted(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "lint", "packer-docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs := Lint("packer-docs.json", data, LintOptions{})
	if !slices.IsSortedFunc(fs, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	}) {
		t.Errorf("findings not sorted by position: %v", fs)
	}
}

// TestGeneratedPoliciesLintClean lints what this package generates for a
// run: the build role's policy with typical parameters, and the three
// trust policies. They must have no finding at all.
func TestGeneratedPoliciesLintClean(t *testing.T) {
	t.Parallel()
	const account = "123456789012"
	instanceRole := "arn:aws:iam::" + account + ":role/buildrole/buildrole-o-r-pr42-3f9c2a1b-vm"
	profile := "arn:aws:iam::" + account + ":instance-profile/buildrole/buildrole-o-r-pr42-3f9c2a1b-vm"
	provider := "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"
	bootstrap := "arn:aws:iam::" + account + ":role/buildrole-bootstrap"

	identity := []struct {
		name   string
		params buildpolicy.BuildParams
	}{
		{"separate profile", buildpolicy.BuildParams{AccountID: account, Regions: []string{"us-east-1"}, PassRoleARNs: []string{instanceRole}, InstanceProfileARNs: []string{profile}}},
		{"copy regions and source CIDRs", buildpolicy.BuildParams{AccountID: account, Regions: []string{"eu-west-1", "eu-central-1", "us-east-1"}, PassRoleARNs: []string{instanceRole}, InstanceProfileARNs: []string{profile}, SourceCIDRs: []string{"192.0.2.0/24", "2001:db8::/32"}}},
		{"no profile", buildpolicy.BuildParams{AccountID: account, Regions: []string{"us-west-2"}}},
		{"china", buildpolicy.BuildParams{Partition: awsfacts.PartitionChina, AccountID: account, Regions: []string{"cn-north-1"}, PassRoleARNs: []string{"arn:aws-cn:iam::" + account + ":role/buildrole/x-vm"}}},
	}
	for _, tt := range identity {
		doc := buildpolicy.BuildRolePolicy(tt.params)
		for _, form := range []string{doc.JSON(), doc.Indent()} {
			fs := Lint("build-role.json", []byte(form), LintOptions{Kind: IdentityPolicy, AllowedPassRoleARNs: tt.params.PassRoleARNs})
			if len(fs) > 0 {
				t.Errorf("%s: BuildRolePolicy has findings:\n%s%s", tt.name, formatFindings(fs), doc.Indent())
			}
		}
	}

	trust := map[string]iampolicy.Document{
		"web identity": buildpolicy.WebIdentityTrustPolicy(provider, "https://token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:pull_request"),
		"chain":        buildpolicy.ChainTrustPolicy(bootstrap),
		"instance":     buildpolicy.InstanceTrustPolicy(awsfacts.PartitionAWS),
		"instance cn":  buildpolicy.InstanceTrustPolicy(awsfacts.PartitionChina),
	}
	for name, doc := range trust {
		fs := Lint("trust.json", []byte(doc.Indent()), LintOptions{Kind: TrustPolicy})
		if len(fs) > 0 {
			t.Errorf("%s trust policy has findings:\n%s%s", name, formatFindings(fs), doc.Indent())
		}
	}
}

// TestLintAgreesWithParse: every document Parse rejects (Parse's own
// fixtures) gets a grammar or json error from Lint, whatever the kind.
func TestLintAgreesWithParse(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "iampolicy", "testdata", "invalid", "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures in ../iampolicy/testdata/invalid")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := iampolicy.Parse(data); err == nil {
			t.Fatalf("%s: Parse accepts it", file)
		}
		for _, kind := range []PolicyKind{IdentityPolicy, TrustPolicy} {
			fs := Lint(filepath.Base(file), data, LintOptions{Kind: kind})
			if !slices.ContainsFunc(fs, func(f Finding) bool {
				return f.Severity == Error && (f.Rule == RuleGrammar || f.Rule == RuleJSON)
			}) {
				t.Errorf("%s (%s): Parse rejects it but Lint finds no grammar error:\n%s", file, kind, formatFindings(fs))
			}
		}
	}
}

// TestLintMessagesOneLine makes sure messages are one line each, so the
// .out format stays one finding a line.
func TestLintMessagesOneLine(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "lint", "*.json"))
	for _, file := range files {
		data, _ := os.ReadFile(file)
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, f := range Lint(file, data, lintCaseOptions[name]) {
			if f.Message == "" || strings.ContainsAny(f.Message, "\n\r") {
				t.Errorf("%s: empty or multi-line message %q", file, f.Message)
			}
		}
	}
}

// packerEC2Actions are the actions of the Packer docs' minimum, as
// DefaultGrants grants them, sorted.
func packerEC2Actions() []string {
	var out []string
	for _, g := range buildpolicy.DefaultGrants() {
		out = append(out, g.Actions...)
	}
	slices.Sort(out)
	return out
}
