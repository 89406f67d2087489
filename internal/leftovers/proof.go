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

// runProfile reports whether the instance runs with one of the run's
// instance profiles: under the run's path, named after the run (the build
// role's name or the instance role's, both ending in its unique part).
// The build role cannot forge it: its PassRole and RunInstances admit only
// its own run's profile, and EC2 keeps the profile of a terminated
// instance visible while it lists the instance.
func (c *cleaner) runProfile(in types.Instance) bool {
	if in.IamInstanceProfile == nil || c.o.Path == "" {
		return false
	}
	arn := aws.ToString(in.IamInstanceProfile.Arn)
	_, rest, ok := strings.Cut(arn, ":instance-profile")
	if !ok || !strings.HasPrefix(arn, "arn:") || !strings.HasPrefix(rest, c.o.Path) {
		return false
	}
	name := strings.TrimPrefix(rest, c.o.Path)
	short := "-" + run.Short(c.o.RunID)
	return !strings.Contains(name, "/") && (strings.HasSuffix(name, short) || strings.HasSuffix(name, short+run.InstanceSuffix))
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
	o.Status, o.Detail = StatusLeft, why+"; the bootstrap session removes only what it can prove is the run's"
	c.add(o)
}
