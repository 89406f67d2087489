package accountsetup

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/iampolicy"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// The -update flag rewrites the golden files. Another test file of this
// package may define the same flag; then that one is used.
var _ = func() *bool {
	if flag.Lookup("update") != nil {
		return nil
	}
	return flag.Bool("update", false, "rewrite golden files under testdata/")
}()

func bsUpdating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	if g, ok := f.Value.(flag.Getter); ok {
		v, _ := g.Get().(bool)
		return v
	}
	return f.Value.String() == "true"
}

func bsGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "bootstrap", name)
	if bsUpdating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-golden +got); if intended, rerun with -update:\n%s", path, diff)
	}
}

// bsGoldenCatalogue stands in for CatalogueActions() in golden files, which
// would otherwise change whenever the catalogue grows. PassRole is in it to
// show that it never reaches the boundary's "*" statement.
var bsGoldenCatalogue = []string{"ec2:CreateImage", "ec2:DescribeImages", "ec2:RunInstances", "iam:PassRole", "kms:Decrypt"}

var bsRenderCases = []struct {
	name string
	p    BootstrapParams
}{
	{"default", BootstrapParams{AccountID: bsAccount, Repository: "octo/app"}},
	{"chain-immutable", BootstrapParams{
		Partition: awsfacts.PartitionGovCloud, AccountID: bsAccount, Repository: "octo/images",
		OwnerID: "123456", RepositoryID: "456789",
		Subjects: []string{"ref:refs/heads/main", "ref:refs/heads/release/*", "environment:prod"},
		Path:     "/ci/images/", NamePrefix: "img", RoleName: "img-bootstrap-gov", BoundaryName: "img-boundary",
		ChainMode: true, InstanceTypes: []string{"t3.*", "m7g.large", "c7i.*large"},
	}},
	{"existing-provider-ghes", BootstrapParams{
		AccountID: bsAccount, Repository: "octo/app", Issuer: "https://ghe.example.com/_services/token",
		ProviderARN: "arn:aws:iam::" + bsAccount + ":oidc-provider/ghe.example.com/_services/token",
	}},
}

func TestBootstrapGolden(t *testing.T) {
	t.Parallel()
	for _, c := range bsRenderCases {
		b, err := newBootstrap(c.p, bsGoldenCatalogue)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		bsGolden(t, c.name+".json", b.JSON())
		bsGolden(t, c.name+".yaml", b.CloudFormation())
		bsGolden(t, c.name+".tf", b.Terraform())
	}
}

func TestBootstrapJSONReparses(t *testing.T) {
	t.Parallel()
	for _, c := range bsRenderCases {
		b, err := NewBootstrap(c.p)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			OIDC struct {
				URL       string   `json:"url"`
				ARN       string   `json:"arn"`
				ClientIDs []string `json:"client_id_list"`
				Create    bool     `json:"create"`
			} `json:"oidc_provider"`
			Role struct {
				Name       string          `json:"name"`
				ARN        string          `json:"arn"`
				Path       string          `json:"path"`
				Desc       string          `json:"description"`
				MaxSession int             `json:"max_session_duration"`
				Trust      json.RawMessage `json:"trust_policy"`
				PolicyName string          `json:"permission_policy_name"`
				Policy     json.RawMessage `json:"permission_policy"`
			} `json:"bootstrap_role"`
			Boundary struct {
				Name   string          `json:"name"`
				ARN    string          `json:"arn"`
				Path   string          `json:"path"`
				Policy json.RawMessage `json:"policy"`
			} `json:"permissions_boundary"`
			Warnings []string `json:"warnings"`
		}
		dec := json.NewDecoder(strings.NewReader(b.JSON()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("%s: JSON(): %v", c.name, err)
		}
		if out.OIDC.Create == b.ExistingProvider {
			t.Errorf("%s: oidc_provider.create = %v with an existing provider %v", c.name, out.OIDC.Create, b.ExistingProvider)
		}
		got := []string{
			out.OIDC.URL, out.OIDC.ARN, strings.Join(out.OIDC.ClientIDs, ","),
			out.Role.Name, out.Role.ARN, out.Role.Path, out.Role.Desc, fmt.Sprint(out.Role.MaxSession), out.Role.PolicyName,
			out.Boundary.Name, out.Boundary.ARN, out.Boundary.Path,
		}
		want := []string{
			b.ProviderURL, b.ProviderARN, b.Audience,
			b.RoleName, b.RoleARN, "/", b.RoleDescription, "3600", b.RoleName,
			b.BoundaryName, b.BoundaryARN, c.p.Path,
		}
		if want[len(want)-1] == "" {
			want[len(want)-1] = DefaultBootstrapPath
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: names (-want +got):\n%s", c.name, diff)
		}
		if diff := cmp.Diff(b.Warnings, out.Warnings); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", c.name, diff)
		}
		for name, pair := range map[string]struct {
			raw  json.RawMessage
			want iampolicy.Document
		}{
			"trust_policy": {out.Role.Trust, b.Trust}, "permission_policy": {out.Role.Policy, b.Permissions}, "policy": {out.Boundary.Policy, b.Boundary},
		} {
			d, err := iampolicy.Parse(pair.raw)
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, name, err)
				continue
			}
			if diff := cmp.Diff(pair.want, d); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", c.name, name, diff)
			}
		}
	}
}

func TestBootstrapCloudFormationIsYAML(t *testing.T) {
	t.Parallel()
	for _, c := range bsRenderCases {
		b, err := NewBootstrap(c.p)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := bsParseYAML(b.CloudFormation())
		if err != nil {
			t.Fatalf("%s: CloudFormation() is not the YAML subset it should be: %v", c.name, err)
		}
		top := tree.(map[string]any)
		if diff := cmp.Diff([]string{"AWSTemplateFormatVersion", "Description", "Outputs", "Resources"}, bsKeys(top)); diff != "" {
			t.Errorf("%s: top-level keys (-want +got):\n%s", c.name, diff)
		}
		if v := top["AWSTemplateFormatVersion"]; v != "2010-09-09" {
			t.Errorf("%s: AWSTemplateFormatVersion = %v", c.name, v)
		}
		get := func(path ...string) any {
			var cur any = top
			for _, p := range path {
				m, ok := cur.(map[string]any)
				if !ok {
					t.Errorf("%s: %s: not a mapping at %q", c.name, strings.Join(path, "."), p)
					return nil
				}
				cur = m[p]
			}
			return cur
		}
		res := get("Resources").(map[string]any)
		types := map[string]any{}
		for name, r := range res {
			types[name] = r.(map[string]any)["Type"]
		}
		wantTypes := map[string]any{
			"GitHubOIDCProvider":  "AWS::IAM::OIDCProvider",
			"PermissionsBoundary": "AWS::IAM::ManagedPolicy",
			"BootstrapRole":       "AWS::IAM::Role",
		}
		dependsOn := []any{"GitHubOIDCProvider", "PermissionsBoundary"}
		providerOut := any("!Ref GitHubOIDCProvider")
		if b.ExistingProvider {
			// An existing provider is referenced, never created.
			delete(wantTypes, "GitHubOIDCProvider")
			dependsOn, providerOut = []any{"PermissionsBoundary"}, b.ProviderARN
		}
		if diff := cmp.Diff(wantTypes, types); diff != "" {
			t.Errorf("%s: resources (-want +got):\n%s", c.name, diff)
		}
		checks := map[string]struct{ got, want any }{
			"boundary name":    {get("Resources", "PermissionsBoundary", "Properties", "ManagedPolicyName"), b.BoundaryName},
			"boundary path":    {get("Resources", "PermissionsBoundary", "Properties", "Path"), b.path},
			"role name":        {get("Resources", "BootstrapRole", "Properties", "RoleName"), b.RoleName},
			"role max session": {get("Resources", "BootstrapRole", "Properties", "MaxSessionDuration"), "3600"},
			"role depends on":  {get("Resources", "BootstrapRole", "DependsOn"), dependsOn},
			"output role":      {get("Outputs", "BootstrapRoleArn", "Value"), "!GetAtt BootstrapRole.Arn"},
			"output boundary":  {get("Outputs", "PermissionsBoundaryArn", "Value"), "!Ref PermissionsBoundary"},
			"output provider":  {get("Outputs", "OIDCProviderArn", "Value"), providerOut},
		}
		if !b.ExistingProvider {
			checks["provider url"] = struct{ got, want any }{get("Resources", "GitHubOIDCProvider", "Properties", "Url"), b.ProviderURL}
			checks["provider audiences"] = struct{ got, want any }{get("Resources", "GitHubOIDCProvider", "Properties", "ClientIdList"), []any{b.Audience}}
		}
		for name, ch := range checks {
			if diff := cmp.Diff(ch.want, ch.got); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", c.name, name, diff)
			}
		}
		policies := get("Resources", "BootstrapRole", "Properties", "Policies").([]any)
		if len(policies) != 1 {
			t.Fatalf("%s: Policies = %v, want one inline policy", c.name, policies)
		}
		docs := map[string]struct {
			raw  any
			want iampolicy.Document
		}{
			"boundary":    {get("Resources", "PermissionsBoundary", "Properties", "PolicyDocument"), b.Boundary},
			"trust":       {get("Resources", "BootstrapRole", "Properties", "AssumeRolePolicyDocument"), b.Trust},
			"permissions": {policies[0].(map[string]any)["PolicyDocument"], b.Permissions},
		}
		for name, d := range docs {
			raw, ok := d.raw.(bsYAMLJSON)
			if !ok {
				t.Errorf("%s: %s: %T, want an embedded JSON document", c.name, name, d.raw)
				continue
			}
			got, err := iampolicy.Parse([]byte(raw))
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, name, err)
				continue
			}
			if diff := cmp.Diff(d.want, got); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", c.name, name, diff)
			}
		}
	}
}

// terraform fmt formats with hclwrite.Format: every golden is its fixed
// point, so `terraform fmt -check` passes on what bootstrap prints.
func TestBootstrapTerraformIsFormatted(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "bootstrap", "*.tf"))
	if len(files) == 0 {
		t.Fatal("no Terraform goldens")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := hclwrite.Format(b); !bytes.Equal(got, b) {
			t.Errorf("%s is not as terraform fmt writes it:\n%s", f, cmp.Diff(string(b), string(got)))
		}
		if _, diags := hclwrite.ParseConfig(b, f, hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s: %s", f, diags)
		}
	}
}

func TestBootstrapTerraform(t *testing.T) {
	t.Parallel()
	for _, c := range bsRenderCases {
		b, err := NewBootstrap(c.p)
		if err != nil {
			t.Fatal(err)
		}
		tf := b.Terraform()
		heredoc := regexp.MustCompile(`(?m)^(\s*)(\w+) += <<-EOT\n((?:.*\n)*?)\s*EOT\n`)
		docs := map[string]string{}
		var order []string
		for _, m := range heredoc.FindAllStringSubmatch(tf, -1) {
			body := strings.ReplaceAll(strings.ReplaceAll(m[3], "$${", "${"), "%%{", "%{")
			order = append(order, m[2])
			docs[fmt.Sprint(len(order)-1)] = body
		}
		if diff := cmp.Diff([]string{"policy", "assume_role_policy", "policy"}, order); diff != "" {
			t.Fatalf("%s: heredoc attributes (-want +got):\n%s", c.name, diff)
		}
		for i, want := range []iampolicy.Document{b.Boundary, b.Trust, b.Permissions} {
			got, err := iampolicy.Parse([]byte(docs[fmt.Sprint(i)]))
			if err != nil {
				t.Errorf("%s: heredoc %d (%s): %v", c.name, i, order[i], err)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: heredoc %d (%s) (-want +got):\n%s", c.name, i, order[i], diff)
			}
		}
		// Outside heredocs and strings, braces and brackets balance.
		outside := heredoc.ReplaceAllString(tf, "")
		outside = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`).ReplaceAllString(outside, `""`)
		outside = regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(outside, "")
		depth := 0
		for i, r := range outside {
			switch r {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			if depth < 0 {
				t.Fatalf("%s: unbalanced close at offset %d", c.name, i)
			}
		}
		if depth != 0 {
			t.Errorf("%s: %d unclosed blocks", c.name, depth)
		}
		provider := []string{
			`resource "aws_iam_openid_connect_provider" "github" {`,
			`url            = ` + hclQuote(b.ProviderURL),
			`client_id_list = [` + hclQuote(b.Audience) + `]`,
			`depends_on = [aws_iam_openid_connect_provider.github, aws_iam_policy.boundary]`,
			`value = aws_iam_openid_connect_provider.github.arn`,
		}
		if b.ExistingProvider {
			// A data source: the provider stays in the state that made it.
			provider = []string{
				`data "aws_iam_openid_connect_provider" "github" {`,
				`arn = ` + hclQuote(b.ProviderARN),
				`depends_on = [data.aws_iam_openid_connect_provider.github, aws_iam_policy.boundary]`,
				`value = data.aws_iam_openid_connect_provider.github.arn`,
			}
			if strings.Contains(tf, `resource "aws_iam_openid_connect_provider"`) {
				t.Errorf("%s: Terraform() creates the provider that exists", c.name)
			}
		}
		for _, want := range append(provider, []string{
			`resource "aws_iam_policy" "boundary" {`,
			`name        = ` + hclQuote(b.BoundaryName),
			`path        = ` + hclQuote(b.path),
			`resource "aws_iam_role" "bootstrap" {`,
			`name                 = ` + hclQuote(b.RoleName),
			`max_session_duration = 3600`,
			`resource "aws_iam_role_policy" "bootstrap" {`,
			`role = aws_iam_role.bootstrap.id`,
			`output "bootstrap_role_arn" {`,
			`output "permissions_boundary_arn" {`,
			`output "oidc_provider_arn" {`,
		}...) {
			// Alignment is terraform fmt's: compare with one space
			// before each "=".
			align := regexp.MustCompile(` += `)
			if !strings.Contains(align.ReplaceAllString(tf, " = "), align.ReplaceAllString(want, " = ")) {
				t.Errorf("%s: Terraform() lacks %q", c.name, want)
			}
		}
		if strings.Contains(tf, "thumbprint_list") && !strings.Contains(tf, "# 5.81.0 made thumbprint_list optional") {
			t.Errorf("%s: thumbprint_list set; IAM no longer uses thumbprints for GitHub", c.name)
		}
	}
}

func TestHCLEscapesTemplates(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"${aws:username}": "$${aws:username}",
		"%{ if x }":       "%%{ if x }",
		"plain $ and %":   "plain $ and %",
	} {
		if got := hclEscapeTemplate(in); got != want {
			t.Errorf("hclEscapeTemplate(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := hclQuote(`a"b\c`), `"a\"b\\c"`; got != want {
		t.Errorf("hclQuote = %s, want %s", got, want)
	}
}

func TestBootstrapWarningsInRenderedOutput(t *testing.T) {
	t.Parallel()
	b := bsNew(t, func(p *BootstrapParams) { p.Subjects = []string{"ref:refs/heads/*"} })
	if len(b.Warnings) == 0 {
		t.Fatal("no warning for a branch wildcard")
	}
	for name, out := range map[string]string{"CloudFormation": b.CloudFormation(), "Terraform": b.Terraform()} {
		if !strings.Contains(out, "# WARNING: "+b.Warnings[0]) {
			t.Errorf("%s output does not carry the warning %q", name, b.Warnings[0])
		}
	}
	if !strings.Contains(b.JSON(), `"warnings": [`) {
		t.Errorf("JSON output does not carry the warnings")
	}
}

// bsYAMLJSON is a flow (JSON) block embedded in the YAML.
type bsYAMLJSON string

type bsYAMLLine struct {
	indent int
	text   string
	num    int
}

// bsParseYAML parses the YAML subset CloudFormation() writes: block
// mappings, block sequences (of scalars or mappings), plain, double-quoted
// and tagged scalars, and multi-line JSON flow blocks, checking indentation
// as YAML requires. Mappings become map[string]any, sequences []any,
// scalars string, flow blocks bsYAMLJSON.
func bsParseYAML(s string) (any, error) {
	var lines []bsYAMLLine
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.Contains(l, "\t") {
			return nil, fmt.Errorf("line %d: tab", i+1)
		}
		text := strings.TrimLeft(l, " ")
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		indent := len(l) - len(text)
		if indent%2 != 0 {
			return nil, fmt.Errorf("line %d: odd indentation %d", i+1, indent)
		}
		lines = append(lines, bsYAMLLine{indent, text, i + 1})
	}
	if len(lines) == 0 || lines[0].indent != 0 {
		return nil, fmt.Errorf("document must start at column 0")
	}
	v, next, err := bsYAMLBlock(lines, 0, 0)
	if err != nil {
		return nil, err
	}
	if next != len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[next].num)
	}
	return v, nil
}

var bsYAMLKey = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*):(?: (.*))?$`)

func bsYAMLBlock(lines []bsYAMLLine, i, indent int) (any, int, error) {
	if strings.HasPrefix(lines[i].text, "- ") {
		var seq []any
		for i < len(lines) && lines[i].indent == indent && strings.HasPrefix(lines[i].text, "- ") {
			item := lines[i].text[2:]
			if bsYAMLKey.MatchString(item) {
				// "- key: value" opens a mapping indented by two more.
				sub := append([]bsYAMLLine(nil), lines...)
				sub[i] = bsYAMLLine{indent + 2, item, lines[i].num}
				v, next, err := bsYAMLBlock(sub, i, indent+2)
				if err != nil {
					return nil, 0, err
				}
				seq, i = append(seq, v), next
				continue
			}
			sc, err := bsYAMLScalar(item, lines[i].num)
			if err != nil {
				return nil, 0, err
			}
			seq, i = append(seq, sc), i+1
		}
		return seq, i, nil
	}
	m := map[string]any{}
	for i < len(lines) && lines[i].indent == indent {
		l := lines[i]
		if strings.HasPrefix(l.text, "- ") {
			return nil, 0, fmt.Errorf("line %d: sequence item inside a mapping", l.num)
		}
		kv := bsYAMLKey.FindStringSubmatch(l.text)
		if kv == nil {
			return nil, 0, fmt.Errorf("line %d: want \"key: value\", got %q", l.num, l.text)
		}
		key := kv[1]
		if _, dup := m[key]; dup {
			return nil, 0, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		i++
		if kv[2] != "" {
			sc, err := bsYAMLScalar(kv[2], l.num)
			if err != nil {
				return nil, 0, err
			}
			m[key] = sc
			continue
		}
		if i >= len(lines) || lines[i].indent <= indent {
			return nil, 0, fmt.Errorf("line %d: key %q has no value", l.num, key)
		}
		child := lines[i].indent
		if strings.HasPrefix(lines[i].text, "{") {
			// A flow block: every line until the indentation returns.
			var b strings.Builder
			for i < len(lines) && lines[i].indent >= child {
				b.WriteString(lines[i].text + "\n")
				i++
			}
			if !json.Valid([]byte(b.String())) {
				return nil, 0, fmt.Errorf("line %d: flow block under %q is not valid JSON", l.num, key)
			}
			m[key] = bsYAMLJSON(b.String())
			continue
		}
		v, next, err := bsYAMLBlock(lines, i, child)
		if err != nil {
			return nil, 0, err
		}
		m[key], i = v, next
	}
	if i < len(lines) && lines[i].indent > indent {
		return nil, 0, fmt.Errorf("line %d: unexpected indentation", lines[i].num)
	}
	return m, i, nil
}

func bsYAMLScalar(s string, num int) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		var out string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return "", fmt.Errorf("line %d: bad double-quoted scalar %s: %v", num, s, err)
		}
		return out, nil
	case strings.HasPrefix(s, "!Ref ") || strings.HasPrefix(s, "!GetAtt "):
		return s, nil
	case strings.ContainsAny(s[:1], "!&*{}[]|>'%@`,?:-#") || strings.Contains(s, ": ") || strings.Contains(s, " #"):
		return "", fmt.Errorf("line %d: plain scalar %q needs quoting", num, s)
	}
	return s, nil
}

func bsKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
