package leftovers

import (
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/buildrole/buildrole/internal/run"
)

// packerKeyName is the temporary key pair's name exactly as
// packer-plugin-amazon makes it when the template names none: packer_ and
// a time-ordered UUID (RunConfig.Prepare). A name chosen by the template
// (ssh_keypair_name, temporary_key_pair_name) is never followed.
var packerKeyName = regexp.MustCompile(`^packer_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// keyLead bounds how long before its instance's launch Packer made the
// temporary key pair, when the run's creation is not known (sweep).
const keyLead = time.Hour

// runInstance reports whether an instance carrying the run's tags is the
// run's. The tags alone are no proof: a build role may write them on any
// instance, volume or group it may tag. Its instance profile is: the build
// role launches only with its run's profile (PassRole, RunInstances), and
// EC2 shows the profile of a terminated instance as long as it lists it.
// Only a run without a profile, cleaned as its own build role, is taken
// by its tags: the build role's policy bounds what it may remove.
func (c *cleaner) runInstance(in types.Instance) bool {
	arn := ""
	if in.IamInstanceProfile != nil {
		arn = aws.ToString(in.IamInstanceProfile.Arn)
	}
	switch {
	case c.o.Profile != "":
		name, under := profileName(arn, c.o.Path)
		return under && name == c.o.Profile
	case c.o.Elevated:
		return namesRun(arn, c.o.Path, c.o.RunID)
	}
	return true
}

// namesRun reports whether an instance profile ARN is directly under path
// and named after the run: the build role's name or the instance role's,
// both ending in the run's unique part.
func namesRun(arn, path, runID string) bool {
	name, under := profileName(arn, path)
	short := "-" + run.Short(runID)
	return under && (strings.HasSuffix(name, short) || strings.HasSuffix(name, short+run.InstanceSuffix))
}

// profileName is the name in an instance profile ARN, and whether the
// profile is directly under path.
func profileName(arn, path string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":instance-profile")
	if !ok || path == "" || !strings.HasPrefix(arn, "arn:") || !strings.HasPrefix(rest, path) {
		return "", false
	}
	name := strings.TrimPrefix(rest, path)
	return name, name != "" && !strings.Contains(name, "/")
}

// packerKey reports whether a key pair a run instance launched with
// (launched then) is Packer's temporary for it: Packer's exact name, made
// after the run began and before the instance.
func (c *cleaner) packerKey(k types.KeyPairInfo, launched time.Time) bool {
	if !packerKeyName.MatchString(aws.ToString(k.KeyName)) || k.CreateTime == nil {
		return false
	}
	since := c.o.Since
	if since.IsZero() && !launched.IsZero() {
		since = launched.Add(-keyLead)
	}
	made := *k.CreateTime
	return !since.IsZero() && !made.Before(since) && (launched.IsZero() || !made.After(launched))
}

// unproved records a resource that carries the run's tags without proof
// the build role could not have forged them: left, with the command.
func (c *cleaner) unproved(o Outcome, why string) {
	o.Status, o.Detail = StatusLeft, why+": no proof it is the run's, so not removed"
	c.add(o)
}
