package leftovers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/buildrole/buildrole/internal/awsfacts"
	"github.com/buildrole/buildrole/internal/run"
)

// API is the EC2 calls cleaning makes: reads, and the four removals. No
// call on images or snapshots.
type API interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	DescribeKeyPairs(context.Context, *ec2.DescribeKeyPairsInput, ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error)
	DeleteKeyPair(context.Context, *ec2.DeleteKeyPairInput, ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
}

// Kinds of resource, as EC2's ARNs name them.
const (
	KindInstance      = "instance"
	KindSecurityGroup = "security-group"
	KindKeyPair       = "key-pair"
	KindVolume        = "volume"
)

// Statuses of an outcome.
const (
	StatusRemoved     = "removed"      // terminated (shutting down at least) or deleted by this run
	StatusGone        = "gone"         // EC2 removed it meanwhile, e.g. a volume deleted with its instance
	StatusLeft        = "left"         // still there; Detail says why
	StatusUnknown     = "unknown"      // the call's outcome is not known; it may be there
	StatusWouldRemove = "would-remove" // dry run
)

// Packer's temporary group, as packer-plugin-amazon names and describes
// it: with a run instance in it, proof that it is the run's.
const (
	packerPrefix       = "packer_"
	packerGroupDescrip = "Temporary group for Packer"
)

// Options say which run and how long to wait.
type Options struct {
	RunID string
	// Wait bounds every wait together: instances reaching shutting-down,
	// groups they hold, volumes detaching. Default 5 minutes.
	Wait time.Duration
	// Poll is the first interval between polls; it doubles up to 15s.
	// Default 2s.
	Poll time.Duration
	// Now is the clock of the deadline. Default time.Now.
	Now func() time.Time
	// Progress is told what is being waited for. Default nil.
	Progress func(format string, args ...any)
	// DryRun lists what would be removed and removes nothing.
	DryRun bool
	// Elevated: the client is not the run's build role (the bootstrap
	// session).
	Elevated bool
	// Path is buildrole's IAM path ("/buildrole/"), the run profile's.
	Path string
	// Profile is the run's instance profile, when known ("" if the run
	// has none, or sweep does not know it).
	Profile string
	// Since is when the run began (zero if unknown): a key pair made
	// before is not its temporary.
	Since time.Time
}

// Outcome is what became of one resource.
type Outcome struct {
	Region string `json:"region"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is EC2's error code when EC2 refused ("" otherwise): a caller
	// may try again with other credentials when it means "denied".
	Code string `json:"code,omitempty"`
}

// Command is the AWS CLI command that removes the resource by hand.
func (o Outcome) Command() string {
	switch o.Kind {
	case KindInstance:
		return "aws ec2 terminate-instances --region " + o.Region + " --instance-ids " + o.ID
	case KindSecurityGroup:
		return "aws ec2 delete-security-group --region " + o.Region + " --group-id " + o.ID
	case KindKeyPair:
		return "aws ec2 delete-key-pair --region " + o.Region + " --key-pair-id " + o.ID
	}
	return "aws ec2 delete-volume --region " + o.Region + " --volume-id " + o.ID
}

// Report is what Clean did, in the order it did it.
type Report struct {
	Outcomes []Outcome `json:"outcomes"`
}

// Removed counts what this run terminated or deleted.
func (r *Report) Removed() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == StatusRemoved {
			n++
		}
	}
	return n
}

// Remaining lists what is or may still be there.
func (r *Report) Remaining() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Status == StatusLeft || o.Status == StatusUnknown {
			out = append(out, o)
		}
	}
	return out
}

// Add appends another region's outcomes.
func (r *Report) Add(o *Report) {
	if o != nil {
		r.Outcomes = append(r.Outcomes, o.Outcomes...)
	}
}

// Clean removes run o.RunID's leftovers in one region. The error says
// what could not be listed; the report holds what was found either way.
func Clean(ctx context.Context, api API, region string, o Options) (*Report, error) {
	if !run.IsRunID(o.RunID) {
		return &Report{}, fmt.Errorf("leftovers: %q is not a run id", o.RunID)
	}
	o = o.withDefaults()
	c := &cleaner{api: api, region: region, o: o, rep: &Report{}, deadline: o.Now().Add(o.Wait),
		own: map[string]bool{}, vols: map[string]bool{}, groups: map[string]bool{}, keys: map[string]time.Time{}}
	var errs []error
	for _, step := range []func(context.Context) error{c.instances, c.securityGroups, c.keyPairs, c.volumes} {
		errs = append(errs, step(ctx))
	}
	return c.rep, errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Wait <= 0 {
		o.Wait = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	return o
}

type cleaner struct {
	api      API
	region   string
	o        Options
	rep      *Report
	deadline time.Time
	// own are the run's instances; vols, groups what they name; keys the
	// key pairs they name, with the earliest launch.
	own, vols, groups map[string]bool
	keys              map[string]time.Time
}

func (c *cleaner) add(o Outcome) {
	o.Region = c.region
	c.rep.Outcomes = append(c.rep.Outcomes, o)
}

// runFilter selects by the run's tag; each result is checked again.
func (c *cleaner) runFilter() []types.Filter {
	return []types.Filter{{Name: aws.String("tag:" + run.TagRunID), Values: []string{c.o.RunID}}}
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// errCode is the EC2 error code of err; ok is false when EC2 never
// answered (the outcome of the call is unknown).
//
// A server error (5xx) is EC2 failing, not refusing: the call may have
// been applied, so its outcome is unknown too.
func errCode(err error) (code string, ok bool) {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return "", false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), true
	}
	return "", false
}

// remove makes one removal call, retried while EC2 answers one of blocked
// (the resource is still held) until the deadline, and records the
// outcome.
func (c *cleaner) remove(ctx context.Context, o Outcome, call func(context.Context) error, blocked ...string) {
	if c.o.DryRun {
		o.Status = StatusWouldRemove
		c.add(o)
		return
	}
	for n := 0; ; n++ {
		err := call(ctx)
		code, answered := errCode(err)
		switch {
		case err == nil:
			o.Status = StatusRemoved
		case answered && awsfacts.IsEC2NotFound(code):
			o.Status = StatusGone
		case answered && contains(blocked, code) && c.sleep(ctx, n, "%s %s: %s", o.Kind, o.ID, code):
			continue
		case answered:
			o.Status, o.Detail, o.Code = StatusLeft, err.Error(), code
		default:
			o.Status, o.Detail = StatusUnknown, err.Error()
		}
		c.add(o)
		return
	}
}

// sleep waits before poll n+1 and reports whether the deadline leaves room
// for it.
func (c *cleaner) sleep(ctx context.Context, n int, format string, args ...any) bool {
	d := c.o.Poll << min(n, 4)
	if d > 15*time.Second {
		d = 15 * time.Second
	}
	left := c.deadline.Sub(c.o.Now())
	if left <= 0 {
		return false
	}
	if n%5 == 0 {
		c.o.Progress("waiting for "+format+" (%s left)", append(args, left.Round(time.Second))...)
	}
	t := time.NewTimer(min(d, left))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Summary says in a few words what a report holds, for logs.
func (r *Report) Summary() string {
	counts := map[string]int{}
	for _, o := range r.Outcomes {
		counts[o.Status]++
	}
	var parts []string
	for _, s := range []string{StatusRemoved, StatusGone, StatusWouldRemove, StatusLeft, StatusUnknown} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "no EC2 leftovers"
	}
	return "EC2 leftovers: " + strings.Join(parts, ", ")
}
