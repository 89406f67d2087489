package csm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
	"github.com/buildrole/buildrole/internal/packertemplate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The datagrams under testdata/ were sent by the AWS SDK for Go v1
// (testdata/record) with AWS's documentation example key.
const recordedKey = "AKIAIOSFODNN7EXAMPLE"

func datagrams(t *testing.T, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		f, err := os.Open(filepath.Join("testdata", n+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, maxDatagram), maxDatagram)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out = append(out, append([]byte(nil), line...))
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no datagrams in %v", names)
	}
	return out
}

var scenarios = []string{"success", "throttled-then-success", "access-denied", "unauthorized-operation"}

// send delivers datagrams to a listener over real UDP, as the SDK does.
func send(t *testing.T, port int, dgs [][]byte) {
	t.Helper()
	conn, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range dgs {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListenerAggregatesRecordedDatagrams(t *testing.T) {
	t.Parallel()
	l, err := Listen("buildrole-recorded")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.conn.LocalAddr().(*net.UDPAddr).IP.String(); got != "127.0.0.1" {
		t.Errorf("listening on %s, want loopback only", got)
	}
	env := strings.Join(l.Env(), " ")
	for _, want := range []string{"AWS_CSM_ENABLED=true", "AWS_CSM_HOST=127.0.0.1", "AWS_CSM_PORT=" + strconv.Itoa(l.Port()), "AWS_CSM_CLIENT_ID=buildrole-recorded"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() = %s, missing %s", env, want)
		}
	}
	send(t, l.Port(), datagrams(t, scenarios...))
	// Noise on the same port: not JSON, JSON that is no CSM event, and an
	// event of another client.
	other := bytes.Replace(datagrams(t, "success")[0], []byte(`"ClientId":"buildrole-recorded"`), []byte(`"ClientId":"someone-else"`), 1)
	send(t, l.Port(), [][]byte{[]byte("hello"), []byte(`{"Version":1,"Type":"Other"}`), []byte(`{"Api":"DescribeRegions"}`), other})
	col := l.Close()
	if l.Close() != col {
		t.Error("a second Close returned another collector")
	}

	got := map[string]Call{}
	var order []string
	for _, c := range col.Calls() {
		got[c.Action] = c
		order = append(order, c.Action)
	}
	if want := []string{"ec2:DescribeRegions", "ec2:DescribeImages", "iam:GetInstanceProfile", "ec2:RunInstances"}; !cmp.Equal(order, want) {
		t.Errorf("calls in order %v, want %v", order, want)
	}
	for _, tc := range []struct {
		action            string
		count, attempts   int
		errors, retried   map[string]int
		messageHasPrefix  string
		messageHasContent string
	}{
		{action: "ec2:DescribeRegions", count: 1, attempts: 1, errors: map[string]int{}},
		{action: "ec2:DescribeImages", count: 1, attempts: 2, errors: map[string]int{}, retried: map[string]int{"RequestLimitExceeded": 1}},
		{action: "iam:GetInstanceProfile", count: 1, attempts: 1, errors: map[string]int{"AccessDenied": 1},
			messageHasPrefix: "User: arn:aws:sts::123456789012:assumed-role/", messageHasContent: "on resource: instance profile web-builder"},
		{action: "ec2:RunInstances", count: 1, attempts: 1, errors: map[string]int{"UnauthorizedOperation": 1},
			messageHasPrefix: "You are not authorized", messageHasContent: "Encoded authorization failure message"},
	} {
		c := got[tc.action]
		if c.Count != tc.count || c.Attempts != tc.attempts || !cmp.Equal(c.Errors, tc.errors) || !cmp.Equal(c.Retried, tc.retried) {
			t.Errorf("%s: count %d attempts %d errors %v retried %v; want %d %d %v %v", tc.action, c.Count, c.Attempts, c.Errors, c.Retried, tc.count, tc.attempts, tc.errors, tc.retried)
		}
		if !cmp.Equal(c.Regions, []string{"us-east-1"}) {
			t.Errorf("%s: regions %v", tc.action, c.Regions)
		}
		for code := range tc.errors {
			msg := c.Message(code)
			if !strings.HasPrefix(msg, tc.messageHasPrefix) || !strings.Contains(msg, tc.messageHasContent) || strings.Contains(msg, "status code:") {
				t.Errorf("%s: message %q", tc.action, msg)
			}
		}
	}
	if s := col.Stats(); s.Ignored != 4 || s.Events != 9 {
		t.Errorf("stats %+v, want 9 events and 4 ignored datagrams", s)
	}
}

func TestCollectorDropsWhatIsNotCSM(t *testing.T) {
	t.Parallel()
	c := NewCollector("")
	for _, d := range []string{
		``, `null`, `[]`, `{"Version":2,"Type":"ApiCall","Service":"EC2","Api":"RunInstances"}`,
		`{"Version":1,"Type":"ApiCall","Service":"EC2","Api":"Run Instances"}`,
		`{"Version":1,"Type":"ApiCall","Service":"","Api":"RunInstances"}`,
		`{"Version":1,"Type":"ApiCall","Service":"EC2","Api":"` + strings.Repeat("A", 200) + `"}`,
		strings.Repeat("x", maxDatagram+1),
	} {
		if c.Add([]byte(d)) {
			t.Errorf("accepted %.60q", d)
		}
	}
	if len(c.Calls()) != 0 || c.Stats().Ignored != 8 {
		t.Errorf("calls %v stats %+v", c.Calls(), c.Stats())
	}
}

func TestCollectorIsBounded(t *testing.T) {
	t.Parallel()
	c := NewCollector("")
	for i := 0; i < maxCalls+50; i++ {
		c.Add([]byte(`{"Version":1,"Type":"ApiCall","Service":"EC2","Api":"Op` + strconv.Itoa(i) + `","FinalAwsException":"E` + strconv.Itoa(i) + `"}`))
	}
	for i := 0; i < 100; i++ {
		c.Add([]byte(`{"Version":1,"Type":"ApiCall","Service":"EC2","Api":"Op0","FinalAwsException":"Code` + strconv.Itoa(i) + `"}`))
	}
	calls := c.Calls()
	if len(calls) != maxCalls || c.Stats().Overflow != 50 {
		t.Errorf("%d calls kept, %d dropped; want %d and 50", len(calls), c.Stats().Overflow, maxCalls)
	}
	if n := len(calls[0].Errors); n != maxCodes {
		t.Errorf("%d error codes kept for one call, want %d", n, maxCodes)
	}
}

func TestServiceAndActionNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ service, api, want string }{
		{"EC2", "RunInstances", "ec2:RunInstances"},
		{"IAM", "GetInstanceProfile", "iam:GetInstanceProfile"},
		{"Secrets Manager", "GetSecretValue", "secretsmanager:GetSecretValue"},
		{"EC2 Instance Connect", "SendSSHPublicKey", "ec2-instance-connect:SendSSHPublicKey"},
		{"S3", "HeadObject", "s3:GetObject"},
		{"S3", "PutObject", "s3:PutObject"},
	} {
		if got := actionName(servicePrefix(tc.service), tc.api); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.service, tc.api, got, tc.want)
		}
	}
}

// basicPolicy is the build role policy up derives for basic-ebs.pkr.hcl.
func basicPolicy(t *testing.T) *Policy {
	t.Helper()
	tmpl, err := packertemplate.Load("../../testdata/templates/basic-ebs.pkr.hcl", packertemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := buildpolicy.Derive(tmpl, awsfacts.PartitionAWS, "123456789012", "us-east-1")
	doc := buildpolicy.BuildRolePolicy(buildpolicy.BuildParams{
		AccountID: "123456789012", Regions: d.Regions, Grants: d.Grants,
		PassRoleARNs:        []string{"arn:aws:iam::123456789012:role/buildrole/run-vm"},
		InstanceProfileARNs: []string{"arn:aws:iam::123456789012:instance-profile/buildrole/run-vm"},
	})
	return &Policy{Document: doc, Source: "derived from template basic-ebs.pkr.hcl", Grants: d.Grants}
}

func collect(t *testing.T, dgs [][]byte, extra ...string) ([]Call, Stats) {
	t.Helper()
	c := NewCollector("buildrole-recorded")
	for _, d := range dgs {
		c.Add(d)
	}
	for _, d := range extra {
		c.Add([]byte(d))
	}
	return c.Calls(), c.Stats()
}

func apiCall(typ, service, api, region, exception string) string {
	b, _ := json.Marshal(map[string]any{"ClientId": "buildrole-recorded", "Version": 1, "Type": typ, "Service": service, "Api": api, "Region": region, "FinalAwsException": exception})
	return string(b)
}

func TestAnalyzeAgainstTheTemplatePolicy(t *testing.T) {
	t.Parallel()
	pol := basicPolicy(t)
	calls, stats := collect(t, datagrams(t, scenarios...),
		// Granted only for ami_regions, which basic-ebs does not set.
		apiCall("ApiCall", "EC2", "CopyImage", "us-east-1", "UnauthorizedOperation"),
		// Granted, but the call went outside the build's region.
		apiCall("ApiCall", "EC2", "DescribeImages", "eu-west-1", "UnauthorizedOperation"),
		// No catalogue entry: the fix is an extra-policy statement.
		apiCall("ApiCall", "EC2", "DescribeVpcEndpoints", "us-east-1", "UnauthorizedOperation"),
		// Succeeded without a grant.
		apiCall("ApiCall", "S3", "PutObject", "us-east-1", ""),
		apiCall("ApiCall", "STS", "GetCallerIdentity", "us-east-1", ""),
	)
	r := Analyze(calls, stats, pol)
	denied := map[string]Denial{}
	for _, d := range r.Denied {
		denied[d.Action] = d
	}
	if len(denied) != 5 {
		t.Fatalf("denied %v", r.Denied)
	}

	ri := denied["ec2:RunInstances"]
	if ri.Statement != "RunInstance" || ri.Resource != "arn:aws:ec2:us-east-1:123456789012:instance/*" ||
		!strings.Contains(ri.Reason, "no identity-based policy") || !strings.Contains(ri.Decode, "sts decode-authorization-message") ||
		!strings.Contains(ri.Fix, "allows ec2:RunInstances on arn:aws:ec2:us-east-1:123456789012:instance/* in us-east-1, where AWS refused it: the call did not run under this policy") || ri.ExtraPolicy != nil {
		t.Errorf("RunInstances: %+v", ri)
	}
	gip := denied["iam:GetInstanceProfile"]
	if gip.Statement != buildpolicy.SidReadInstanceProfile || gip.Resource != "instance profile web-builder" ||
		!strings.Contains(gip.Fix, "refused on instance profile web-builder, not the run's own profile") || !strings.Contains(gip.Fix, "iam_instance_profile = var.iam_instance_profile") {
		t.Errorf("GetInstanceProfile: %+v", gip)
	}
	ci := denied["ec2:CopyImage"]
	if ci.Statement != "" || len(ci.Catalogue) == 0 || ci.Catalogue[0].Sid != "CopyImage" ||
		!strings.Contains(ci.Fix, "ami_regions") || !strings.Contains(ci.Fix, "step_ami_region_copy.go") {
		t.Errorf("CopyImage: %+v", ci)
	}
	if got := string(mustJSON(ci.ExtraPolicy)); got != `{"Sid":"ExtraCopyImage","Effect":"Allow","Action":"ec2:CopyImage","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}` {
		t.Errorf("CopyImage extra-policy %s", got)
	}
	di := denied["ec2:DescribeImages"]
	if di.Statement != "Describe" || !strings.Contains(di.Fix, "only in us-east-1, and the call went to eu-west-1") {
		t.Errorf("DescribeImages: %+v", di)
	}
	dve := denied["ec2:DescribeVpcEndpoints"]
	if len(dve.Catalogue) != 0 || dve.ExtraPolicy == nil || !strings.Contains(dve.Fix, "has no entry") {
		t.Errorf("DescribeVpcEndpoints: %+v", dve)
	}
	// The extra statement parses as extra-policy and grants exactly the call.
	stmts, err := iampolicy.ParseStatements(mustJSON(dve.ExtraPolicy))
	if err != nil {
		t.Fatal(err)
	}
	doc := []iampolicy.Document{{Version: iampolicy.Version, Statement: stmts}}
	if iampolicy.Evaluate(iampolicy.Request{Action: "ec2:DescribeVpcEndpoints", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}}}, doc, nil) != iampolicy.Allow ||
		iampolicy.Evaluate(iampolicy.Request{Action: "ec2:DescribeVpcEndpoints", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"ap-south-1"}}}, doc, nil) == iampolicy.Allow {
		t.Error("the extra-policy statement is not the call's grant, bound to the region")
	}

	if len(r.Ungranted) != 1 || r.Ungranted[0].Action != "s3:PutObject" || r.Ungranted[0].Succeeded != 1 {
		t.Errorf("ungranted %+v (sts:GetCallerIdentity needs no grant)", r.Ungranted)
	}
	// Independently of the report: the actions the policy names.
	granted := map[string]bool{}
	for _, st := range pol.Document.Statement {
		for _, a := range st.Action {
			granted[strings.ToLower(a)] = true
		}
	}
	if r.Granted == nil || *r.Granted != len(granted) {
		t.Fatalf("granted %v, want %d", r.Granted, len(granted))
	}
	// Called and granted: DescribeRegions, DescribeImages, GetInstanceProfile,
	// RunInstances (CopyImage, DescribeVpcEndpoints and PutObject are not granted).
	if *r.Used != 4 {
		t.Errorf("used %d, want 4", *r.Used)
	}
	if len(r.Indirect) != 2 || r.Indirect[0].Action != "ec2:CreateTags" || r.Indirect[1].Action != "iam:PassRole" {
		t.Errorf("indirect %+v: CreateTags and PassRole are checked inside RunInstances", r.Indirect)
	}
	if len(r.Unused)+len(r.Indirect)+*r.Used != *r.Granted {
		t.Errorf("unused %d + indirect %d + used %d != granted %d", len(r.Unused), len(r.Indirect), *r.Used, *r.Granted)
	}
	for _, a := range r.Unused {
		if a == "ec2:DescribeRegions" || a == "iam:PassRole" {
			t.Errorf("%s listed as unused", a)
		}
	}
}

// Debian's packer, refused by fakeaws's EC2: the template's policy grants
// the call, so the refusal came from the credentials packer ran with.
func TestAnalyzePackersRefusal(t *testing.T) {
	t.Parallel()
	calls, stats := collect(t, datagrams(t, "packer-describe-regions"))
	r := Analyze(calls, stats, basicPolicy(t))
	if len(r.Denied) != 1 {
		t.Fatalf("denied %+v", r.Denied)
	}
	d := r.Denied[0]
	if d.Action != "ec2:DescribeRegions" || d.Statement != "Describe" || d.Decode != "" ||
		!strings.Contains(d.Fix, "allows ec2:DescribeRegions in us-east-1, where AWS refused it: the call did not run under this policy") {
		t.Errorf("%+v", d)
	}
}

func TestAnalyzeExplainsBoundariesAndOrganizations(t *testing.T) {
	t.Parallel()
	msg := func(why string) string {
		b, _ := json.Marshal(map[string]any{"ClientId": "buildrole-recorded", "Version": 1, "Type": "ApiCall", "Service": "EC2", "Api": "CreateImage", "Region": "us-east-1",
			"FinalAwsException": "UnauthorizedOperation", "FinalAwsExceptionMessage": "UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: ec2:CreateImage on resource: arn:aws:ec2:us-east-1::image/* " + why})
		return string(b)
	}
	for why, want := range map[string]string{
		"because no permissions boundary allows the ec2:CreateImage action": "the permissions boundary refused ec2:CreateImage",
		"with an explicit deny in a service control policy":                 "an AWS Organizations policy refused ec2:CreateImage",
	} {
		calls, stats := collect(t, nil, msg(why))
		r := Analyze(calls, stats, basicPolicy(t))
		if len(r.Denied) != 1 || !strings.HasPrefix(r.Denied[0].Fix, want) || r.Denied[0].Resource != "arn:aws:ec2:us-east-1::image/*" {
			t.Errorf("%s: %+v", why, r.Denied)
		}
	}
}

func TestAnalyzeWithoutEventsIsNotAReportOfZeros(t *testing.T) {
	t.Parallel()
	r := Analyze(nil, Stats{Ignored: 2}, basicPolicy(t))
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"calls", "denied", "ungranted", "unused", "granted", "used"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report has no %q", k)
		}
	}
	if m["observed"] != false || m["used"] != nil || len(m["unused"].([]any)) != 0 || m["message"] != NoEventsMessage {
		t.Errorf("report %s", b)
	}
	if got := r.Text(); got != "buildrole exec: "+NoEventsMessage+"\n" {
		t.Errorf("text %q", got)
	}
}

// Every action the catalogue may grant has a reason to name, except the
// documented minimum's extras, which only template-less policies carry;
// every row of the catalogue is a reason for each of its actions.
func TestCatalogueReasonsCoverTheCatalogue(t *testing.T) {
	t.Parallel()
	var missing []string
	for _, a := range buildpolicy.CatalogueActions() {
		if len(catalogueFor(a)) == 0 {
			missing = append(missing, a)
		}
	}
	for _, a := range missing {
		found := false
		for _, p := range packerEC2Actions() {
			found = found || p == a
		}
		if !found {
			t.Errorf("%s is in the catalogue but in none of buildpolicy.Rows", a)
		}
	}
	for _, r := range buildpolicy.Rows() {
		for _, a := range r.Actions {
			if !slices.ContainsFunc(catalogueFor(a), func(e Entry) bool {
				return e.Sid == r.Sid && strings.Contains(e.When, r.Reason()) && e.Always == r.Always && slices.Equal(e.Builders, r.Builders)
			}) {
				t.Errorf("%s: row %s %q is not among its reasons %+v", a, r.Sid, r.Why, catalogueFor(a))
			}
		}
	}
	// The rows every build gets in one statement are one reason.
	// The temporary key pair's is its own (tagged only inside CreateKeyPair).
	if e := catalogueFor("ec2:CreateTags"); len(e) != 6 || !e[4].Always || e[4].Sid != "Tag" ||
		!strings.Contains(e[4].When, "(RunInstances TagSpecifications;") || !strings.Contains(e[4].When, "(CreateSecurityGroup TagSpecifications)") ||
		e[5].Sid != "TagKeyPair" || !strings.Contains(e[5].When, "(CreateKeyPair TagSpecifications)") {
		t.Errorf("CreateTags: %+v", e)
	}
	if e := catalogueFor("ssm:GetParameter"); len(e) != 1 || e[0].String() != "for data.amazon-parameterstore (datasource/parameterstore/data.go) (statement ParameterStore)" {
		t.Errorf("GetParameter: %+v", e)
	}
	if want := []string{"ec2:DescribeImageAttribute", "ec2:DescribeTags"}; !cmp.Equal(missing, want) {
		t.Errorf("actions without a catalogue reason %v, want only the documented minimum's %v", missing, want)
	}
	e := catalogueFor("ec2:DescribeInstanceTypeOfferings")
	if len(e) != 1 || !strings.HasPrefix(e[0].When, "associate_public_ip_address without a subnet") || e[0].Always {
		t.Errorf("DescribeInstanceTypeOfferings: %+v", e)
	}
	e = catalogueFor("ec2:DeleteSnapshot")
	if len(e) != 2 || e[0].Sid != "ForceDeregister" || e[0].When != "force_deregister with force_delete_snapshot (builder/common/step_deregister_ami.go)" || !e[1].Always {
		t.Errorf("DeleteSnapshot: %+v", e)
	}
}

func TestWiden(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc":           "arn:aws:ec2:*:123456789012:volume/*",
		"arn:aws:ec2:us-east-1::image/ami-0abc":                        "arn:aws:ec2:*::image/*",
		"arn:aws:iam::123456789012:role/Admin":                         "arn:aws:iam::123456789012:role/Admin",
		"arn:aws:ssm:us-east-1:123456789012:parameter/app/db/password": "arn:aws:ssm:*:123456789012:parameter/*",
	} {
		if got := widen(in); got != want {
			t.Errorf("widen(%s) = %s, want %s", in, got, want)
		}
	}
}

// The renderings of one report, golden: the summary on stderr, the step
// summary, and the record in the .calls format. None carries the key.
func TestRenderings(t *testing.T) {
	t.Parallel()
	calls, stats := collect(t, datagrams(t, scenarios...), "not csm")
	r := Analyze(calls, stats, basicPolicy(t))
	r.Command, r.ExitCode = "packer", 1
	js, _ := json.MarshalIndent(r, "", "  ")
	for name, got := range map[string]string{"report.txt": r.Text(), "report.md": r.Markdown(), "report.calls": r.Record(), "report.json": string(js) + "\n"} {
		if strings.Contains(got, recordedKey) {
			t.Errorf("%s carries the access key id", name)
		}
		path := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), got); d != "" {
			t.Errorf("%s (-want +got, go test -update rewrites):\n%s", name, d)
		}
	}
	// The record reads back as the catalogue tests read .calls files.
	var lines []string
	for _, l := range strings.Split(r.Record(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	want := []string{"region us-east-1", "us-east-1 ec2:DescribeRegions *", "us-east-1 ec2:DescribeImages *", "us-east-1 iam:GetInstanceProfile *", "us-east-1 ec2:RunInstances *"}
	if !cmp.Equal(lines, want) {
		t.Errorf("record lines %q, want %q", lines, want)
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
