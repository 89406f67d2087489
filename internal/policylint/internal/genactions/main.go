// Command genactions writes actions_gen.go, the IAM action catalogue that
// the policy linter (policylint.Lint, policylint.KnownAction) checks action
// names against.
//
// Run it from internal/policylint (go generate does):
//
//	go run ./internal/genactions -o actions_gen.go
//
// For most services the catalogue is the set of API operations of the AWS
// SDK for Go v2 service module at a pinned version: the names of its
// api_op_<Operation>.go files. The modules are fetched with
// "go mod download -json MODULE@VERSION" in a temporary directory, so the
// repository's go.mod is never touched; only the Go module proxy is needed.
// IAM action names equal the API operation names for these services, with
// the exceptions listed in renamed, plus the permission-only actions in
// extra that have no API operation. Amazon S3 is listed by hand (s3Actions):
// its IAM action names differ from its API names (ListObjectsV2 is
// authorized as s3:ListBucket, HeadObject as s3:GetObject, ...), and
// ssmmessages and ec2messages have no SDK module.
//
// To move to newer SDK versions, change the versions in services (see
// "go list -m -versions MODULE") and run the command again.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// service is one IAM service prefix of the catalogue and where its actions
// come from.
type service struct {
	prefix  string // IAM service prefix, e.g. "logs"
	module  string // SDK module path; empty for hand-written services
	version string
}

const sdk = "github.com/aws/aws-sdk-go-v2/service/"

// services are the services buildrole's policies touch. Sorted by prefix.
var services = []service{
	{"ec2", sdk + "ec2", "v1.344.2"},
	{"ec2messages", "", ""},
	{"ecr", sdk + "ecr", "v1.67.5"},
	{"iam", sdk + "iam", "v1.64.9"},
	{"kms", sdk + "kms", "v1.62.5"},
	{"logs", sdk + "cloudwatchlogs", "v1.92.1"},
	{"s3", "", ""},
	{"ssm", sdk + "ssm", "v1.82.0"},
	{"ssmmessages", "", ""},
	{"sts", sdk + "sts", "v1.51.9"},
}

// renamed maps API operations whose IAM actions have other names.
var renamed = map[string][]string{
	// KMS authorizes ReEncrypt as two actions, one on each key.
	"kms:ReEncrypt": {"ReEncryptFrom", "ReEncryptTo"},
}

// extra are permission-only actions: IAM actions with no API operation of
// their own (from the AWS Service Authorization Reference).
var extra = map[string][]string{
	// ECR pull-through cache and replication.
	"ecr": {"BatchImportUpstreamImage", "ReplicateImage"},
	// Authorized inside ec2:RunInstances and other calls that hand a role
	// to a service.
	"iam": {"PassRole"},
	// Vended-log deliveries (CloudWatch Logs as a log destination), cross-
	// account observability links, and unmasking protected data.
	"logs": {"CreateLogDelivery", "DeleteLogDelivery", "GetLogDelivery", "Link", "ListLogDeliveries", "Unmask", "UpdateLogDelivery"},
	// Authorized inside AssumeRole* calls.
	"sts": {"GetServiceBearerToken", "SetContext", "SetSourceIdentity", "TagSession"},
	// Session Manager channels of the SSM agent.
	"ssmmessages": {"CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"},
	// The SSM agent's message delivery service.
	"ec2messages": {"AcknowledgeMessage", "DeleteMessage", "FailMessage", "GetEndpoint", "GetMessages", "SendReply"},
	"s3":          s3Actions,
}

// s3Actions are the IAM actions of Amazon S3 (service prefix "s3") from the
// Service Authorization Reference, "Actions defined by Amazon S3". Amazon S3
// Express (s3express) and S3 Object Lambda (s3-object-lambda) are other
// prefixes and not included.
var s3Actions = []string{
	"AbortMultipartUpload", "AssociateAccessGrantsIdentityCenter", "BypassGovernanceRetention",
	"CreateAccessGrant", "CreateAccessGrantsInstance", "CreateAccessGrantsLocation",
	"CreateAccessPoint", "CreateAccessPointForObjectLambda", "CreateBucket", "CreateJob",
	"CreateMultiRegionAccessPoint", "CreateStorageLensGroup",
	"DeleteAccessGrant", "DeleteAccessGrantsInstance", "DeleteAccessGrantsInstanceResourcePolicy",
	"DeleteAccessGrantsLocation", "DeleteAccessPoint", "DeleteAccessPointForObjectLambda",
	"DeleteAccessPointPolicy", "DeleteAccessPointPolicyForObjectLambda", "DeleteBucket",
	"DeleteBucketPolicy", "DeleteBucketWebsite", "DeleteJobTagging", "DeleteMultiRegionAccessPoint",
	"DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
	"DeleteStorageLensConfiguration", "DeleteStorageLensConfigurationTagging", "DeleteStorageLensGroup",
	"DescribeJob", "DescribeMultiRegionAccessPointOperation", "DissociateAccessGrantsIdentityCenter",
	"GetAccelerateConfiguration", "GetAccessGrant", "GetAccessGrantsInstance",
	"GetAccessGrantsInstanceForPrefix", "GetAccessGrantsInstanceResourcePolicy",
	"GetAccessGrantsLocation", "GetAccessPoint", "GetAccessPointConfigurationForObjectLambda",
	"GetAccessPointForObjectLambda", "GetAccessPointPolicy", "GetAccessPointPolicyForObjectLambda",
	"GetAccessPointPolicyStatus", "GetAccessPointPolicyStatusForObjectLambda",
	"GetAccountPublicAccessBlock", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS",
	"GetBucketLocation", "GetBucketLogging", "GetBucketNotification",
	"GetBucketObjectLockConfiguration", "GetBucketOwnershipControls", "GetBucketPolicy",
	"GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketRequestPayment",
	"GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite", "GetDataAccess",
	"GetEncryptionConfiguration", "GetIntelligentTieringConfiguration", "GetInventoryConfiguration",
	"GetJobTagging", "GetLifecycleConfiguration", "GetMetricsConfiguration",
	"GetMultiRegionAccessPoint", "GetMultiRegionAccessPointPolicy",
	"GetMultiRegionAccessPointPolicyStatus", "GetMultiRegionAccessPointRoutes", "GetObject",
	"GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention",
	"GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
	"GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging",
	"GetObjectVersionTorrent", "GetReplicationConfiguration", "GetStorageLensConfiguration",
	"GetStorageLensConfigurationTagging", "GetStorageLensDashboard", "GetStorageLensGroup",
	"InitiateReplication", "ListAccessGrants", "ListAccessGrantsInstances",
	"ListAccessGrantsLocations", "ListAccessPoints", "ListAccessPointsForObjectLambda",
	"ListAllMyBuckets", "ListBucket", "ListBucketMultipartUploads", "ListBucketVersions",
	"ListJobs", "ListMultiRegionAccessPoints", "ListMultipartUploadParts",
	"ListStorageLensConfigurations", "ListStorageLensGroups", "ListTagsForResource",
	"ObjectOwnerOverrideToBucketOwner", "PutAccelerateConfiguration",
	"PutAccessGrantsInstanceResourcePolicy", "PutAccessPointConfigurationForObjectLambda",
	"PutAccessPointPolicy", "PutAccessPointPolicyForObjectLambda", "PutAccessPointPublicAccessBlock",
	"PutAccountPublicAccessBlock", "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS",
	"PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration",
	"PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock",
	"PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite",
	"PutEncryptionConfiguration", "PutIntelligentTieringConfiguration", "PutInventoryConfiguration",
	"PutJobTagging", "PutLifecycleConfiguration", "PutMetricsConfiguration",
	"PutMultiRegionAccessPointPolicy", "PutObject", "PutObjectAcl", "PutObjectLegalHold",
	"PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging",
	"PutReplicationConfiguration", "PutStorageLensConfiguration", "PutStorageLensConfigurationTagging",
	"ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
	"SubmitMultiRegionAccessPointRoutes", "TagResource", "UntagResource",
	"UpdateAccessGrantsLocation", "UpdateJobPriority", "UpdateJobStatus", "UpdateStorageLensGroup",
}

func main() {
	out := flag.String("o", "actions_gen.go", "output file")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genactions:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	tmp, err := os.MkdirTemp("", "genactions")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	catalogue := make(map[string][]string, len(services))
	for _, s := range services {
		var names []string
		if s.module != "" {
			ops, err := operations(tmp, s.module, s.version)
			if err != nil {
				return err
			}
			for _, op := range ops {
				if r, ok := renamed[s.prefix+":"+op]; ok {
					names = append(names, r...)
					continue
				}
				names = append(names, op)
			}
		}
		names = append(names, extra[s.prefix]...)
		slices.Sort(names)
		names = slices.Compact(names)
		if len(names) == 0 {
			return fmt.Errorf("service %s: no actions", s.prefix)
		}
		catalogue[s.prefix] = names
	}
	src, err := render(catalogue)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// operations downloads module@version through the module proxy (in dir,
// outside any main module) and returns its API operations, sorted.
func operations(dir, module, version string) ([]string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(stdout, &info); jerr == nil && info.Error != "" {
		return nil, fmt.Errorf("download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("download %s@%s: %w: %s", module, version, err, stderr.String())
	}
	if info.Dir == "" {
		return nil, fmt.Errorf("download %s@%s: no Dir reported", module, version)
	}
	files, err := filepath.Glob(filepath.Join(info.Dir, "api_op_*.go"))
	if err != nil {
		return nil, err
	}
	var ops []string
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "api_op_"), ".go")
		if strings.HasSuffix(name, "_test") {
			continue
		}
		ops = append(ops, name)
	}
	if len(ops) == 0 {
		return nil, errors.New(module + "@" + version + ": no api_op_*.go files")
	}
	slices.Sort(ops)
	return ops, nil
}

func render(catalogue map[string][]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`// Code generated by genactions; DO NOT EDIT.
//
// Regenerate from internal/policylint with:
//
//	go run ./internal/genactions -o actions_gen.go
//
// Sources (see internal/genactions/main.go):
`)
	for _, s := range services {
		src := "hand-written list (Service Authorization Reference)"
		if s.module != "" {
			src = "api_op_*.go of " + s.module + "@" + s.version
		}
		fmt.Fprintf(&b, "//   - %s: %s\n", s.prefix, src)
	}
	b.WriteString(`
package policylint

// actionCatalogue maps IAM service prefixes to the names of their actions,
// sorted. It covers only the services buildrole's policies touch.
var actionCatalogue = map[string][]string{
`)
	for _, s := range services {
		fmt.Fprintf(&b, "\t%q: {\n", s.prefix)
		for _, n := range catalogue[s.prefix] {
			fmt.Fprintf(&b, "\t\t%q,\n", n)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
