package iamsim_test

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/buildrole/buildrole/internal/buildpolicy"
	"github.com/buildrole/buildrole/internal/iampolicy"
)

// The fake account, run and caller every request is made in.
const (
	account    = "123456789012"
	otherAcct  = "999999999999"
	shareAcct  = "210987654321" // the account the fixtures share with
	runID      = "3f9c2a1b-0000-4000-8000-000000000000"
	otherRunID = "77777777-0000-4000-8000-000000000000"
	buildRole  = "arn:aws:iam::123456789012:role/buildrole/buildrole-octo-app-pr42-3f9c2a1b"
	instRole   = buildRole + "-vm"
	profile    = "arn:aws:iam::123456789012:instance-profile/buildrole/buildrole-octo-app-pr42-3f9c2a1b-vm"
	prodProf   = "arn:aws:iam::123456789012:instance-profile/prod-admin"
	runnerProf = "arn:aws:iam::123456789012:instance-profile/github-runner"
	// userID is the build role session's aws:userid (role id:session name).
	userID = "AROAEXAMPLEBUILDROLE0:buildrole-77-1"
	// iamRegion is the region IAM's own calls carry in the aws partition.
	iamRegion = "us-east-1"
)

// runTags are the tags `up` exports as PKR_VAR_buildrole_run_tags.
func runTags(id string) map[string]string {
	return map[string]string{
		"buildrole:managed": "true", "buildrole:run-id": id, "buildrole:repository": "octo/app",
		"buildrole:expires-at": "2030-01-01T06:00:00Z",
	}
}

// call is one line of a .calls file: a call Packer makes (or, with "deny",
// one it must not be allowed) and what AWS puts in its request context.
//
//	[deny] REGION ACTION RESOURCE [key=value ...]
//
// Placeholders: {ec2} = arn:aws:ec2:REGION:ACCOUNT:, {img} =
// arn:aws:ec2:REGION:: (AMIs and snapshots), {role}/{profile} = the run's
// instance role and profile. Annotations, for what the call carries:
//
//	req=run          the request tags what it creates with the run's tags
//	res=run          the resource carries the run's tags
//	create=API       tag on create: ec2:CreateAction
//	alias=alias/x    the KMS key carries the alias (kms:ResourceAliases)
//	share=A[,B]      ModifySnapshotAttribute adds accounts (ec2:Add/userId)
//	group=all        ... and groups (ec2:Add/group)
//	osuser=NAME      EC2 Instance Connect user (ec2:osuser)
//	profile=run|runner|none   the instance's profile (ec2:InstanceProfile)
//	type=T           the instance type launched (ec2:InstanceType)
//	owner=O          the image's owner, an account or alias (ec2:Owner)
//	keys=A[,B]       the tag keys DeleteTags removes (aws:TagKeys); without
//	                 it, DeleteTags names none and removes every tag
//
// scope=region|tags limits a line to one scope: a call the other scope
// cannot tell from an attack. A line "refused tags" says scope: tags must
// refuse the template; its scope=tags lines are the attacks it would allow.
//
// The rest follows from the action: the region, the caller, PassRole's
// service, kms:ViaService (Packer never calls KMS; EC2 does for it),
// kms:GrantIsForAWSResource and the session's owner tag. A StartSession
// carries no ssm:SessionDocumentAccessCheck: AWS does not say that a
// request naming a document carries it (templates_test.go adds the same
// call with the key true).
type call struct {
	line                     int
	deny                     bool
	region, action, resource string
	ann                      map[string]string
	scope                    string // "": both
}

// callsFile is a .calls file read.
type callsFile struct {
	region      string
	calls       []call
	refusedTags bool // scope: tags must refuse the template
}

func readCalls(t *testing.T, path string) (cf callsFile) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case fields[0] == "region":
			cf.region = fields[1]
			continue
		case len(fields) == 2 && fields[0] == "refused" && fields[1] == "tags":
			cf.refusedTags = true
			continue
		}
		c := call{line: n, ann: map[string]string{}}
		if fields[0] == "deny" {
			c.deny, fields = true, fields[1:]
		}
		if len(fields) < 3 {
			t.Fatalf("%s:%d: want REGION ACTION RESOURCE", path, n)
		}
		c.region, c.action = fields[0], fields[1]
		c.resource = expand(fields[2], c.region)
		for _, kv := range fields[3:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%s:%d: annotation %q is not key=value", path, n, kv)
			}
			if k == "scope" {
				if v != "region" && v != "tags" {
					t.Fatalf("%s:%d: scope=%s: want region or tags", path, n, v)
				}
				c.scope = v
				continue
			}
			c.ann[k] = v
		}
		cf.calls = append(cf.calls, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cf.region == "" {
		cf.region = "us-east-1"
	}
	return cf
}

func expand(s, region string) string {
	return strings.NewReplacer(
		"{ec2}", "arn:aws:ec2:"+region+":"+account+":",
		"{img}", "arn:aws:ec2:"+region+"::",
		"{role}", instRole, "{profile}", profile,
	).Replace(s)
}

// tpl is what a request's context needs to know about its template.
type tpl struct {
	name       string
	hasProfile bool // the build instance carries the run's profile
}

// context is what AWS puts in the request context of c.
func (c call) context(tp tpl) map[string][]string {
	region := c.region
	if strings.HasPrefix(c.action, "iam:") {
		region = iamRegion
	}
	ctx := map[string][]string{
		iampolicy.KeyRequestedRegion: {region},
		"aws:userid":                 {userID},
		"aws:PrincipalArn":           {buildRole},
		"aws:PrincipalAccount":       {account},
	}
	kind := resourceKind(c.resource)
	switch {
	case c.action == iampolicy.ActionPassRole:
		ctx[iampolicy.KeyPassedToService] = []string{"ec2.amazonaws.com"}
	case strings.HasPrefix(c.action, "kms:"):
		ctx[buildpolicy.KeyViaService] = []string{"ec2." + c.region + ".amazonaws.com"}
		if c.action == "kms:CreateGrant" {
			ctx[buildpolicy.KeyGrantIsForAWSResource] = []string{"true"}
		}
	case c.action == "ssm:TerminateSession":
		ctx[buildpolicy.KeySessionOwner] = []string{userID}
	}
	ann := maps.Clone(c.ann)
	if _, set := ann["profile"]; !set && strings.HasPrefix(c.action, "ec2:") && kind == "instance" && tp.hasProfile {
		ann["profile"] = "run"
	}
	for k, v := range ann {
		switch k {
		case "req":
			for tk, tv := range tagsOf(v) {
				ctx["aws:RequestTag/"+tk] = []string{tv}
				ctx["aws:TagKeys"] = append(ctx["aws:TagKeys"], tk)
			}
			slices.Sort(ctx["aws:TagKeys"])
		case "res":
			for tk, tv := range tagsOf(v) {
				ctx["aws:ResourceTag/"+tk] = []string{tv}
				if strings.HasPrefix(c.action, "ssm:") {
					ctx["ssm:resourceTag/"+tk] = []string{tv}
				}
			}
		case "create":
			ctx[buildpolicy.KeyCreateAction] = []string{v}
		case "alias":
			ctx[buildpolicy.KeyResourceAliases] = []string{v}
		case "share":
			ctx[buildpolicy.KeyAddUserID] = strings.Split(v, ",")
		case "group":
			ctx[buildpolicy.KeyAddGroup] = strings.Split(v, ",")
		case "osuser":
			ctx[buildpolicy.KeyOSUser] = []string{v}
		case "type":
			ctx[buildpolicy.KeyInstanceType] = []string{v}
		case "owner":
			ctx[buildpolicy.KeyOwner] = []string{v}
		case "keys":
			ctx[buildpolicy.KeyTagKeys] = strings.Split(v, ",")
		case "profile":
			switch v {
			case "run":
				ctx["ec2:InstanceProfile"] = []string{profile}
			case "runner":
				ctx["ec2:InstanceProfile"] = []string{runnerProf}
			case "prod":
				ctx["ec2:InstanceProfile"] = []string{prodProf}
			case "none":
			default:
				panic("unknown profile annotation " + v)
			}
		default:
			panic(fmt.Sprintf("unknown annotation %s=%s", k, v))
		}
	}
	return ctx
}

// tagsOf reads a tag annotation: "run" (this run's), "other" (another
// run's) or "none".
func tagsOf(v string) map[string]string {
	switch v {
	case "run":
		return runTags(runID)
	case "other":
		return runTags(otherRunID)
	case "none":
		return nil
	}
	panic("unknown tag annotation " + v)
}

// resourceKind is the resource type of an EC2 ARN ("instance"), "" else.
func resourceKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[2] != "ec2" {
		return ""
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	return kind
}

// withRegion moves an ARN to another region (ARNs without a region and
// "*" stay).
func withRegion(arn, region string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[3] == "" {
		return arn
	}
	parts[3] = region
	return strings.Join(parts, ":")
}

// withAccount moves an ARN of this account to another; "" when it has no
// account.
func withAccount(arn, acct string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[4] != account {
		return ""
	}
	parts[4] = acct
	return strings.Join(parts, ":")
}
