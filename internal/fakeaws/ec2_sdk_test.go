package fakeaws_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/fakeaws"
)

// ec2Client retries what the network breaks: under -race the SDK's HTTP
// client now and then reads a reused connection it has closed itself
// ("use of closed network connection" with a 200 already received).
func ec2Client(s *fakeaws.Server, creds aws.CredentialsProvider) *ec2.Client {
	cfg := awsConfig(s, creds)
	cfg.RetryMaxAttempts = 3
	return ec2.NewFromConfig(cfg)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// eventually polls f until it is true or 5 s pass.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !f(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

func state(t *testing.T, c *ec2.Client, id string) types.InstanceStateName {
	t.Helper()
	out := must(c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}}))(t)
	return out.Reservations[0].Instances[0].State.Name
}

func tagSpec(kind types.ResourceType, k, v string) types.TagSpecification {
	return types.TagSpecification{ResourceType: kind, Tags: []types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}
}

// An instance's life as EC2 leads it: pending, running, shutting-down
// (its group still in use), terminated and still listed; its root volume
// goes with it, a volume kept on termination becomes available later.
func TestEC2InstanceLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.EC2().SetDelays(fakeaws.EC2Delays{Pending: 100 * time.Millisecond, ShuttingDown: 300 * time.Millisecond, VolumeDetach: 200 * time.Millisecond})
	ami := s.EC2().SeedImage(fakeaws.EC2Image{Name: "source"})
	c := ec2Client(s, adminCreds())
	sg := must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("packer_1"), Description: aws.String("temp")}))(t)
	must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("0.0.0.0/0")}))(t)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SecurityGroupIds:    []string{*sg.GroupId},
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sdb"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(4), DeleteOnTermination: aws.Bool(false)}}},
		TagSpecifications:   []types.TagSpecification{tagSpec(types.ResourceTypeInstance, "run", "a"), tagSpec(types.ResourceTypeVolume, "run", "a")}}))(t)
	id := *run.Instances[0].InstanceId
	if run.Instances[0].State.Name != types.InstanceStateNamePending {
		t.Errorf("launched %s", run.Instances[0].State.Name)
	}
	eventually(t, "running", func() bool { return state(t, c, id) == types.InstanceStateNameRunning })
	vols := must(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}}))(t)
	if len(vols.Volumes) != 2 || vols.Volumes[0].Tags[0].Value == nil {
		t.Fatalf("volumes %+v", vols.Volumes)
	}
	var kept string
	for _, v := range vols.Volumes {
		if !*v.Attachments[0].DeleteOnTermination {
			kept = *v.VolumeId
		}
	}
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: &kept}); code(err) != "VolumeInUse" {
		t.Errorf("DeleteVolume in use: %v", err)
	}
	must(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))(t)
	if st := state(t, c, id); st != types.InstanceStateNameShuttingDown {
		t.Errorf("after terminate: %s", st)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); code(err) != "DependencyViolation" {
		t.Errorf("DeleteSecurityGroup while shutting-down: %v", err)
	}
	eventually(t, "terminated", func() bool { return state(t, c, id) == types.InstanceStateNameTerminated })
	must(c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}))(t)
	left := s.EC2().Volumes()
	if len(left) != 1 || left[0].ID != kept {
		t.Fatalf("volumes after termination %+v, want only %s", left, kept)
	}
	eventually(t, "available", func() bool {
		v := must(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{kept}}))(t)
		return v.Volumes[0].State == types.VolumeStateAvailable
	})
	must(c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: &kept}))(t)
	if _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{kept}}); code(err) != "InvalidVolume.NotFound" {
		t.Errorf("deleted volume: %v", err)
	}
	byState := must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"terminated"}}, {Name: aws.String("tag:run"), Values: []string{"a"}}}}))(t)
	if len(byState.Reservations) != 1 {
		t.Errorf("terminated instance not listed: %+v", byState.Reservations)
	}
}

// Errors as EC2 sends them; DeleteKeyPair of a missing key succeeds.
func TestEC2Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	c := ec2Client(s, adminCreds())
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("packer_gone")}); err != nil {
		t.Errorf("DeleteKeyPair of a missing key: %v", err)
	}
	checks := map[string]error{
		"InvalidKeyPair.NotFound":    second(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"nope"}})),
		"InvalidInstanceID.NotFound": second(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})),
		"InvalidGroup.NotFound":      second(c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-0123456789abcdef0")})),
		"InvalidAMIID.NotFound":      second(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})),
		"InvalidVolume.NotFound":     second(c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String("vol-0123456789abcdef0")})),
		"InvalidParameterValue":      second(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}}})),
	}
	for want, err := range checks {
		if code(err) != want {
			t.Errorf("want %s, got %v", want, err)
		}
	}
	must(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))(t)
	if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}); code(err) != "InvalidKeyPair.Duplicate" {
		t.Errorf("duplicate key: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// CreateImage images a running or stopped instance, not a pending one;
// the AMI goes pending → available, its snapshots tagged as asked.
func TestEC2CreateImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.EC2().SetDelays(fakeaws.EC2Delays{Pending: 300 * time.Millisecond, ImagePending: 300 * time.Millisecond})
	ami := s.EC2().SeedImage(fakeaws.EC2Image{})
	c := ec2Client(s, adminCreds())
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}))(t)
	id := run.Instances[0].InstanceId
	in := &ec2.CreateImageInput{InstanceId: id, Name: aws.String("built"), TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeImage, "run", "a"), tagSpec(types.ResourceTypeSnapshot, "run", "a")}}
	if _, err := c.CreateImage(ctx, in); code(err) != "IncorrectInstanceState" {
		t.Errorf("CreateImage of a pending instance: %v", err)
	}
	eventually(t, "running", func() bool { return state(t, c, *id) == types.InstanceStateNameRunning })
	img := must(c.CreateImage(ctx, in))(t)
	d := must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*img.ImageId}}))(t)
	if d.Images[0].State != types.ImageStatePending {
		t.Errorf("new image %s", d.Images[0].State)
	}
	w := ec2.NewImageAvailableWaiter(c, func(o *ec2.ImageAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*img.ImageId}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	snaps := must(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{{Name: aws.String("tag:run"), Values: []string{"a"}}}}))(t)
	if len(snaps.Snapshots) != 1 || snaps.Snapshots[0].State != types.SnapshotStateCompleted {
		t.Errorf("snapshots %+v", snaps.Snapshots)
	}
	mine := must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"bui*"}}}}))(t)
	if len(mine.Images) != 1 || *mine.Images[0].ImageId != *img.ImageId {
		t.Errorf("own images %+v", mine.Images)
	}
}

// Describe calls page as EC2 pages them.
func TestEC2Pagination(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for range 7 {
		s.EC2().SeedInstance(fakeaws.EC2Instance{})
	}
	p := ec2.NewDescribeInstancesPaginator(ec2Client(s, adminCreds()), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	pages, n := 0, 0
	for p.HasMorePages() {
		out := must(p.NextPage(context.Background()))(t)
		pages++
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
	}
	if pages != 2 || n != 7 {
		t.Errorf("%d pages, %d instances", pages, n)
	}
}

// A session is held to its role's policy for EC2 as for IAM: resource
// tags, request tags, the instance profile's role passed.
func TestEC2AuthorizesSessionsByTheirPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	ami := s.EC2().SeedImage(fakeaws.EC2Image{})
	other := s.EC2().SeedInstance(fakeaws.EC2Instance{Tags: map[string]string{"run": "b"}})
	s.AddRole("vm", "/", ec2Trust)
	must(iamClient(s).CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("vm")}))(t)
	must(iamClient(s).AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("vm"), RoleName: aws.String("vm")}))(t)
	s.AddRole("builder", "/", rootTrust)
	s.PutRolePolicyDirect("builder", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:us-east-1:123456789012:instance/*","Condition":{"StringEquals":{"aws:RequestTag/run":"a","ec2:InstanceType":"t3.micro"}}},
		{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:us-east-1:123456789012:volume/*","Condition":{"StringEquals":{"aws:RequestTag/run":"a"}}},
		{"Effect":"Allow","Action":"ec2:RunInstances","Resource":["arn:aws:ec2:*:123456789012:network-interface/*","arn:aws:ec2:*:123456789012:security-group/*","arn:aws:ec2:*:123456789012:subnet/*","arn:aws:ec2:*::image/*"]},
		{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"StringEquals":{"ec2:CreateAction":"RunInstances"}}},
		{"Effect":"Allow","Action":"ec2:TerminateInstances","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/run":"a"}}},
		{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/builder"), RoleSessionName: aws.String("builder")}))(t)
	c := ec2Client(s, sessionCreds(out.Credentials))
	launch := func(tag string, profile bool) error {
		in := &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeInstance, "run", tag), tagSpec(types.ResourceTypeVolume, "run", tag)}}
		if profile {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String("vm")}
		}
		_, err := c.RunInstances(ctx, in)
		return err
	}
	if err := launch("a", false); err != nil {
		t.Fatalf("RunInstances with the run's tag: %v", err)
	}
	err := launch("b", false)
	if code(err) != "UnauthorizedOperation" || !regexp.MustCompile(`on resource: arn:aws:ec2:us-east-1:123456789012:instance/\* .*Encoded authorization failure message: [A-Za-z0-9_-]{900,}`).MatchString(err.Error()) {
		t.Errorf("RunInstances with another tag: %v", err)
	}
	if err := launch("a", true); code(err) != "UnauthorizedOperation" || !strings.Contains(err.Error(), "iam:PassRole on resource: arn:aws:iam::123456789012:role/vm") {
		t.Errorf("RunInstances passing a role without iam:PassRole: %v", err)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{other}}); code(err) != "UnauthorizedOperation" {
		t.Errorf("TerminateInstances of another run's instance: %v", err)
	}
	if _, err := ec2.NewFromConfig(awsConfig(s, sessionCreds(out.Credentials)), func(o *ec2.Options) { o.Region = "eu-west-1" }).DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); code(err) != "UnauthorizedOperation" {
		t.Errorf("DescribeInstances in another region: %v", err)
	}
	if in := s.EC2().Instances(); len(in) != 2 {
		t.Errorf("instances %+v", in)
	}
}

// EC2 does not know an instance profile until IAM has propagated it: the
// error Packer retries on.
func TestEC2SeesInstanceProfilesAfterPropagation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := startServer(t, withClock(c))
	s.SetPropagationDelay(5 * time.Second)
	ami := s.EC2().SeedImage(fakeaws.EC2Image{})
	must(iamClient(s).CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("vm")}))(t)
	run := func() error {
		_, err := ec2Client(s, adminCreds()).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("vm")}})
		return err
	}
	if err := run(); code(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "Invalid IAM Instance Profile name") {
		t.Errorf("before propagation: %v", err)
	}
	c.Advance(5 * time.Second)
	if err := run(); err != nil {
		t.Errorf("after propagation: %v", err)
	}
}

// DetachVolume takes its time; seeded resources are found by the filters
// teardown uses.
func TestEC2DetachAndFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.EC2().SetDelays(fakeaws.EC2Delays{VolumeDetach: 200 * time.Millisecond})
	run := map[string]string{"buildrole:run-id": "r1"}
	in := s.EC2().SeedInstance(fakeaws.EC2Instance{State: "stopped", Tags: run})
	vol := s.EC2().SeedVolume(fakeaws.EC2Volume{InstanceID: in, Device: "/dev/sdf", Tags: run})
	s.EC2().SeedKeyPair(fakeaws.EC2KeyPair{Name: "packer_1", Tags: run})
	s.EC2().SeedKeyPair(fakeaws.EC2KeyPair{Name: "packer_2"})
	s.EC2().SeedSecurityGroup(fakeaws.EC2SecurityGroup{Name: "packer_1", Description: "temp", Tags: run})
	c := ec2Client(s, adminCreds())
	must(c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: &vol}))(t)
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: &vol}); code(err) != "VolumeInUse" {
		t.Errorf("DeleteVolume while detaching: %v", err)
	}
	if _, err := c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: &vol}); code(err) != "IncorrectState" {
		t.Errorf("DetachVolume twice: %v", err)
	}
	eventually(t, "available", func() bool {
		v := must(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"available"}}, {Name: aws.String("tag:buildrole:run-id"), Values: []string{"r1"}}}}))(t)
		return len(v.Volumes) == 1
	})
	must(c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: &vol}))(t)
	keys := must(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{"buildrole:run-id"}}}}))(t)
	if len(keys.KeyPairs) != 1 || *keys.KeyPairs[0].KeyName != "packer_1" {
		t.Errorf("key pairs %+v", keys.KeyPairs)
	}
	groups := must(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"packer_*"}}}}))(t)
	if len(groups.SecurityGroups) != 1 || groups.SecurityGroups[0].Tags[0].Value == nil {
		t.Errorf("groups %+v", groups.SecurityGroups)
	}
	tags := must(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"buildrole:run-id"}}}}))(t)
	if len(tags.Tags) != 3 {
		t.Errorf("tags %+v", tags.Tags)
	}
	if got := s.EC2().Volumes(); len(got) != 1 || got[0].InstanceID != in {
		t.Errorf("the instance's own root volume only: %+v", got)
	}
}

// DryRun answers whether the caller may, and changes nothing.
func TestEC2DryRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.AddUser(noGrantKey, "ci", "")
	in := s.EC2().SeedInstance(fakeaws.EC2Instance{})
	_, err := ec2Client(s, adminCreds()).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{in}, DryRun: aws.Bool(true)})
	if code(err) != "DryRunOperation" || s.EC2().Instances()[0].State != "running" {
		t.Errorf("admin dry run: %v", err)
	}
	_, err = ec2Client(s, credentials.NewStaticCredentialsProvider(noGrantKey, "secret", "")).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{in}, DryRun: aws.Bool(true)})
	if code(err) != "UnauthorizedOperation" {
		t.Errorf("dry run without the grant: %v", err)
	}
}

// CreateKeyPair's tags on create are authorized against the key pair it
// names, as the call itself (a key pair's ARN carries its name): a grant
// on packer_* admits packer_… and refuses another name.
func TestEC2AuthorizesKeyPairTagsOnCreateByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t)
	s.AddRole("builder", "/", rootTrust)
	s.PutRolePolicyDirect("builder", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["ec2:CreateKeyPair","ec2:CreateTags"],"Resource":"arn:aws:ec2:us-east-1:123456789012:key-pair/packer_*"},
		{"Effect":"Allow","Action":"ec2:CreateKeyPair","Resource":"arn:aws:ec2:us-east-1:123456789012:key-pair/other"}]}`)
	out := must(stsClient(s).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/builder"), RoleSessionName: aws.String("builder")}))(t)
	c := ec2Client(s, sessionCreds(out.Credentials))
	create := func(name string) error {
		_, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String(name),
			TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeKeyPair, "run", "a")}})
		return err
	}
	if err := create("packer_1"); err != nil {
		t.Errorf("a tagged key pair the grant names: %v", err)
	}
	if err := create("other"); code(err) != "UnauthorizedOperation" || !strings.Contains(err.Error(), "ec2:CreateTags on resource: arn:aws:ec2:us-east-1:123456789012:key-pair/other") {
		t.Errorf("tags on a key pair the CreateTags grant does not name: %v", err)
	}
}
